/**
 * What `build` says on stderr when the user detached on Ctrl-C: the build goes on on the farm
 * and publishes by itself; how to see it again.
 */
export function detachedLines(buildId: string): string[] {
  return [
    `detached from build ${buildId}: it keeps running on the farm and publishes when done`,
    `  follow it:      archfarm logs -f ${buildId}`,
    `  its outcome:    archfarm builds inspect ${buildId}`,
    `  cancel it:      archfarm cancel ${buildId}`,
  ];
}
