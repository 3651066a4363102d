import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { connect } from 'node:net';
import { finished } from 'node:stream/promises';
import { waitForOutput } from '@archfarm/test';

/** A sender in its own process, so both ends have a CPU each as the gRPC paths do. */
const SENDER = `
const { createReadStream } = require('node:fs');
const server = require('node:net').createServer((socket) => createReadStream(process.argv[1], { highWaterMark: 256 * 1024 }).pipe(socket));
server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
`;

/**
 * The baseline: `file` copied over plain TCP on loopback to `parallel` receivers at once
 * (each writes it to its own file), with no TLS, no gRPC and no hashing. Returns the wall ms.
 */
export async function rawLoopbackCopy(file: string, destinations: string[]): Promise<number> {
  const sender = spawn(process.execPath, ['-e', SENDER, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const text = await waitForOutput(sender, 'stdout', (t) => /port \d+/.test(t), 10_000);
    const port = Number(/port (\d+)/.exec(text)![1]);
    const start = Date.now();
    await Promise.all(
      destinations.map(async (dest) => {
        const out = createWriteStream(dest);
        connect(port, '127.0.0.1').pipe(out);
        await finished(out);
      }),
    );
    return Date.now() - start;
  } finally {
    sender.kill();
  }
}
