/** Runs a benchmark's main; exits non-zero with the error on failure (and ends lingering handles either way). */
export function runMain(name: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench ${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}

/** Progress for the person watching (stderr, so stdout holds only the tables). */
export function say(name: string, text: string): void {
  process.stderr.write(`[bench ${name} ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
