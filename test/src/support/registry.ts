import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

let checked: string | undefined;

/**
 * The address (host:port) of the real registry the cross-process tests use:
 * $ARCHFARM_TEST_REGISTRY, default 127.0.0.1:5000. Throws, failing the test rather than
 * skipping it, when nothing answers there: a silent skip would hide a broken host.
 * Synchronous (a child node process probes /v2/) so tests can call it anywhere.
 */
export function testRegistry(): string {
  if (checked) return checked;
  const addr = process.env.ARCHFARM_TEST_REGISTRY ?? '127.0.0.1:5000';
  const probe = `fetch('http://${addr}/v2/', { signal: AbortSignal.timeout(5000) })
    .then((r) => process.exit(r.status === 200 ? 0 : 2), () => process.exit(1));`;
  const res = spawnSync(process.execPath, ['-e', probe], { timeout: 10_000 });
  if (res.status !== 0) {
    const why = res.status === 2 ? 'answers but not as an auth-less registry' : 'does not answer';
    throw new Error(
      `\n\n*** THE TEST REGISTRY at http://${addr}/v2/ ${why.toUpperCase()} ***\n` +
        `*** start it with scripts/host-setup.sh (or set ARCHFARM_TEST_REGISTRY=host:port) ***\n`,
    );
  }
  checked = addr;
  return addr;
}

/** A repository name no other test run uses, e.g. "test/merge-1a2b3c4d". */
export function uniqueRepository(prefix: string): string {
  return `test/${prefix}-${randomBytes(4).toString('hex')}`;
}
