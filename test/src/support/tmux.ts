import { execFile } from 'node:child_process';

const TMUX = '/usr/bin/tmux';

/**
 * A real pseudo-terminal: one tmux server of its own, on a private socket (`tmux -S`), whose
 * one window of a fixed size runs a command. Stopped by that socket (`kill-server`), so no other
 * tmux on the machine is touched.
 */
export class TmuxTerminal {
  private constructor(readonly socket: string) {}

  /** Starts a server on `socket` running `command` (argv, run without a shell) in a `columns` x `rows` window. */
  static async start(socket: string, command: string[], size: { columns: number; rows: number }): Promise<TmuxTerminal> {
    const term = new TmuxTerminal(socket);
    // -f /dev/null: no user configuration can change what the window shows.
    await term.tmux(['-f', '/dev/null', 'new-session', '-d', '-s', 'af', '-x', String(size.columns), '-y', String(size.rows), ...command]);
    return term;
  }

  /** The window's text now, one string per row, trailing blanks trimmed. */
  async capture(): Promise<string[]> {
    const text = await this.tmux(['capture-pane', '-p', '-t', 'af']);
    return text.replace(/\n+$/, '').split('\n').map((l) => l.trimEnd());
  }

  /** Types keys in tmux's names ('C-c', 'd'). */
  async sendKeys(...keys: string[]): Promise<void> {
    await this.tmux(['send-keys', '-t', 'af', ...keys]);
  }

  /** Stops this server and what runs in it. */
  async kill(): Promise<void> {
    await this.tmux(['kill-server']).catch(() => undefined);
  }

  private tmux(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(TMUX, ['-S', this.socket, ...args], { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`tmux ${args.join(' ')}: ${stderr || err.message}`));
        else resolve(stdout);
      });
    });
  }
}
