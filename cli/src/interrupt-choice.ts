import type { Interrupts } from './interrupts';
import { isTerminal } from './progress/terminal';

/** What the user chose on Ctrl-C during a live build; 'ended' when the build ended first. */
export type InterruptChoice = 'cancel' | 'detach' | 'ended';

export const INTERRUPT_QUESTION = 'cancel the build or detach? [c/d]';

/** A terminal's stdin, as process.stdin is when it is one. */
interface RawInput extends NodeJS.ReadableStream {
  setRawMode(raw: boolean): unknown;
}

/**
 * Whether Ctrl-C may ask "cancel or detach?": only for SIGINT (a SIGTERM comes from a CI
 * runner or a supervisor, with nobody to answer: it cancels as before), and only when stdin is
 * a terminal whose keys can be read one by one. With stdin a pipe or /dev/null (`build < file`,
 * a script under `script(1)`), nobody can answer either: the first Ctrl-C cancels, as in plain mode.
 */
export function canAskOnInterrupt(signal: NodeJS.Signals, stdin: NodeJS.ReadableStream): stdin is RawInput {
  return signal === 'SIGINT' && isTerminal(stdin) && typeof (stdin as Partial<RawInput>).setRawMode === 'function';
}

/**
 * The answer the keys typed hold, if any: c (or a second Ctrl-C, which raw mode delivers as
 * the byte 0x03 rather than a signal) cancels, d detaches; any other key is ignored.
 */
export function choiceForKeys(keys: string): Exclude<InterruptChoice, 'ended'> | undefined {
  for (const key of keys) {
    if (key === '\u0003' || key === 'c' || key === 'C') return 'cancel';
    if (key === 'd' || key === 'D') return 'detach';
  }
  return undefined;
}

/**
 * Asks on the terminal and waits for a key, a second signal (cancel), stdin's end (cancel:
 * nobody can answer any more) or `ended` settling (the build ended meanwhile). The terminal is
 * back in its normal mode and stdin paused (so it holds no process open) whatever happens.
 */
export async function askCancelOrDetach(
  stdin: RawInput,
  show: (question: string | undefined) => void,
  interrupts: Interrupts,
  ended: Promise<unknown>,
): Promise<InterruptChoice> {
  const held = interrupts.holdNext();
  let onData: ((chunk: Buffer | string) => void) | undefined;
  let onEnd: (() => void) | undefined;
  try {
    stdin.setRawMode(true);
    show(INTERRUPT_QUESTION);
    const typed = new Promise<InterruptChoice>((resolve) => {
      onData = (chunk) => {
        const choice = choiceForKeys(chunk.toString());
        if (choice) resolve(choice);
      };
      onEnd = () => resolve('cancel');
      stdin.on('data', onData);
      stdin.on('end', onEnd);
      stdin.resume();
    });
    const over = ended.then(
      () => 'ended' as const,
      () => 'ended' as const,
    );
    return await Promise.race([typed, held.next.then(() => 'cancel' as const), over]);
  } finally {
    held.release();
    if (onData) stdin.removeListener('data', onData);
    if (onEnd) stdin.removeListener('end', onEnd);
    stdin.setRawMode(false);
    stdin.pause();
    show(undefined);
  }
}
