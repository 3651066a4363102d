import { runCli } from './cli';
import { processIo } from './io';

// `archfarm agents | head -1` closes stdout early; that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

// exitCode rather than exit(): lets stdout drain when it is a pipe.
void runCli(process.argv.slice(2), processIo()).then((code) => {
  process.exitCode = code;
});
