import type { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import { InterruptedError } from './errors';

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * Catches Ctrl-C (and SIGTERM from CI runners) for the length of a command so it can stop
 * in order: abort the upload, or cancel the build and wait for it briefly. A second signal
 * means "now": the process exits at once with 128+N.
 */
export class Interrupts {
  private readonly controller = new AbortController();
  private firstSignal: NodeJS.Signals | undefined;
  private resolveFired!: (signal: NodeJS.Signals) => void;
  /** Settles with the first signal; never settles if none comes. */
  readonly fired = new Promise<NodeJS.Signals>((resolve) => (this.resolveFired = resolve));
  private readonly listeners = SIGNALS.map((signal) => [signal, () => this.onSignal(signal)] as const);
  /** Set while a question is asked: the next signal answers it instead of ending the process. */
  private answer: ((signal: NodeJS.Signals) => void) | undefined;

  constructor(
    private readonly source: EventEmitter,
    private readonly exit: (code: number) => never,
  ) {
    for (const [signal, listener] of this.listeners) source.on(signal, listener);
  }

  /** Aborted on the first signal: hand it to work that can simply stop (packing, upload). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The first signal received, if any. */
  get received(): NodeJS.Signals | undefined {
    return this.firstSignal;
  }

  /** Throws InterruptedError if a signal came; for the steps before a build exists. */
  throwIfInterrupted(): void {
    if (this.firstSignal) throw new InterruptedError(this.firstSignal);
  }

  /**
   * Until `release`, the next signal settles `next` instead of ending the process: while
   * `build` asks "cancel the build or detach?", a second Ctrl-C is the answer "cancel", and
   * only one after that means "now".
   */
  holdNext(): { next: Promise<NodeJS.Signals>; release: () => void } {
    const next = new Promise<NodeJS.Signals>((resolve) => (this.answer = resolve));
    return { next, release: () => (this.answer = undefined) };
  }

  /** Restores the default signal behaviour. */
  dispose(): void {
    for (const [signal, listener] of this.listeners) this.source.off(signal, listener);
  }

  private onSignal(signal: NodeJS.Signals): void {
    const answer = this.answer;
    if (this.firstSignal && answer) {
      this.answer = undefined;
      return answer(signal);
    }
    if (this.firstSignal) this.exit(128 + (constants.signals[signal] ?? 2));
    this.firstSignal = signal;
    this.controller.abort(new InterruptedError(signal));
    this.resolveFired(signal);
  }
}
