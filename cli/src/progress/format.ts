import { buildStateToJSON, jobStateToJSON, modeFromWire, type BuildMode, type BuildState, type JobState, type ModeName } from '@archfarm/proto';

/** "native" or "emulated": the words users see for a BuildMode. */
export function modeName(mode: BuildMode): ModeName {
  return modeFromWire(mode);
}

/** "queued", "running", ...: a JobState without its enum prefix. */
export function jobStateName(state: JobState): string {
  return jobStateToJSON(state).replace(/^JOB_STATE_/, '').toLowerCase();
}

/** "published", "failed", ...: a BuildState without its enum prefix. */
export function buildStateName(state: BuildState): string {
  return buildStateToJSON(state).replace(/^BUILD_STATE_/, '').toLowerCase();
}

/** Bytes in decimal units as docker prints them: "812 B", "1.2 MB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  // 999.95 kB would print as "1000.0 kB": move up a unit before rounding does.
  while (value >= (unit === 0 ? 1000 : 999.95) && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
