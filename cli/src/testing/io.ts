import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type { CliIo } from '../io';
import { Captured } from './events';
import { TEST_TOKEN, testCaFile } from './tls';

/** A CliIo whose output is captured and whose signals the test emits. */
export interface TestIo extends CliIo {
  readonly stdout: Captured;
  readonly stderr: Captured;
  readonly signals: EventEmitter;
}

/**
 * The environment every test starts from: the fake coordinator's CA and a token, and no
 * config file or Docker config of the user running the tests. Values set to undefined
 * in `over` are removed.
 */
export function testEnv(over: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    ARCHFARM_CONFIG: '/nonexistent/archfarm-cli-test/config.json',
    ARCHFARM_CA_FILE: testCaFile(),
    ARCHFARM_TOKEN: TEST_TOKEN,
    DOCKER_CONFIG: '/nonexistent/archfarm-cli-test/docker',
    ...over,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** `env` is laid over {@link testEnv}; `stdin` is what the command reads if it reads stdin. */
export function testIo(cwd: string, env: Record<string, string | undefined> = {}, stdin = ''): TestIo {
  return {
    stdout: new Captured(),
    stderr: new Captured(),
    stdin: Readable.from(stdin === '' ? [] : [Buffer.from(stdin)]),
    env: testEnv(env),
    cwd,
    signals: new EventEmitter(),
    exit: (code: number): never => {
      throw new Error(`exit(${code}) called`);
    },
  };
}
