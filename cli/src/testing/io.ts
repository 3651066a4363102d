import { EventEmitter } from 'node:events';
import type { CliIo } from '../io';
import { Captured } from './events';

/** A CliIo whose output is captured and whose signals the test emits. */
export interface TestIo extends CliIo {
  readonly stdout: Captured;
  readonly stderr: Captured;
  readonly signals: EventEmitter;
}

export function testIo(cwd: string, env: Record<string, string> = {}): TestIo {
  return {
    stdout: new Captured(),
    stderr: new Captured(),
    env,
    cwd,
    signals: new EventEmitter(),
    exit: (code: number): never => {
      throw new Error(`exit(${code}) called`);
    },
  };
}
