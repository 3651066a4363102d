import type { TestFleet } from './fleet';

/** `archfarm builds inspect --output json`, as the CLI prints it. */
export interface Inspected {
  buildId: string;
  tag: string;
  state: string;
  digest: string;
  error: { code: string; message: string; kind: string } | null;
  platforms: Array<{
    platform: string;
    state: string;
    digest: string;
    attempts: Array<{ attempt: number; agent: string; mode: string; outcome: string; start: string; end: string | null; reason?: string; errorKind?: string | null; digest?: string }>;
  }>;
}

export async function inspect(fleet: TestFleet, id: string): Promise<Inspected> {
  const res = await fleet.cli(['builds', 'inspect', id, '--output', 'json']);
  if (res.code !== 0) throw new Error(`builds inspect ${id} failed (${res.code}): ${res.stderr}`);
  return JSON.parse(res.stdout) as Inspected;
}

/** Polls `builds inspect` until `done` holds; fails with the last state and the fleet's logs. */
export async function waitFor(fleet: TestFleet, id: string, done: (b: Inspected) => boolean, timeoutMs: number, what: string): Promise<Inspected> {
  const deadline = Date.now() + timeoutMs;
  let last: Inspected | undefined;
  for (;;) {
    last = await inspect(fleet, id).catch(() => last);
    if (last && done(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last:\n${JSON.stringify(last, null, 1)}\nlogs:\n${fleet.logs.join('').slice(-6000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Submits with --detach and returns the build id. */
export async function submitDetached(fleet: TestFleet, args: string[]): Promise<string> {
  const res = await fleet.cli(['build', '--detach', ...args]);
  if (res.code !== 0) throw new Error(`build --detach failed (${res.code}): ${res.stderr}`);
  return res.stdout.trim();
}
