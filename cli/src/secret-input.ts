import { InvalidInputError } from '@archfarm/common';

/** More than any token or password; a bigger stdin is a mistake (the wrong file piped in). */
const MAX_SECRET_BYTES = 64 * 1024;

/**
 * Reads a secret piped to stdin (`--password-stdin`, `--token-stdin`), as `docker login`
 * does: everything up to EOF, less one trailing newline. `field` names the flag in errors,
 * which never quote what was read.
 */
export async function readSecret(stdin: NodeJS.ReadableStream, field: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > MAX_SECRET_BYTES) throw new InvalidInputError(field, `stdin holds more than ${MAX_SECRET_BYTES / 1024} KiB; pipe in only the secret`);
    chunks.push(bytes);
  }
  const secret = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (secret === '') throw new InvalidInputError(field, 'stdin was empty; pipe the secret in, e.g. `cat secret.txt | archfarm ...`');
  return secret;
}
