import { execFile } from 'node:child_process';

/** What `skopeo inspect` printed and how it exited. */
export interface SkopeoResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `skopeo inspect --tls-verify=false [--raw|--config] docker://<ref>`: an independent
 * client's view of the registry, so tests do not only check our client against itself.
 */
export function skopeoInspect(ref: string, mode: '--raw' | '--config' = '--raw'): Promise<SkopeoResult> {
  return new Promise((resolve, reject) => {
    execFile('skopeo', ['inspect', '--tls-verify=false', mode, `docker://${ref}`], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`cannot run skopeo (is it installed? scripts/host-setup.sh installs it): ${err.message}`));
        return;
      }
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}
