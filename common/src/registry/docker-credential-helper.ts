import { execFileSync } from 'node:child_process';
import { CredentialHelperError } from './errors';
import type { RegistryCredentials } from './registry-auth';

/** How long a helper may take; a keychain that prompts for a password waits for a person. */
export const CREDENTIAL_HELPER_TIMEOUT_MS = 15_000;
/** What a helper prints when it holds nothing for the server (docker-credential-helpers' ErrCredentialsNotFound). */
const NOT_FOUND = /credentials not found/i;
/** Helper names become program names: no path separators, nothing a shell would read. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface CredentialHelperOptions {
  /** The environment the helper runs in, and whose PATH finds it (default: this process's). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/**
 * Runs `docker-credential-NAME get` with the server on stdin, as the docker CLI does, and
 * reads `{"Username": ..., "Secret": ...}` from its stdout. Undefined when the helper holds no
 * credentials for the server; a missing program, a timeout, a failure or output that is not
 * that JSON is a CredentialHelperError naming the program. Neither the helper's output nor
 * the secret ever reaches a message. Synchronous (execFileSync): its callers are.
 * A username of "<token>" is an identity token (OAuth2 refresh token); it is returned as is.
 */
export function runCredentialHelper(name: string, server: string, configPath: string, options: CredentialHelperOptions = {}): RegistryCredentials | undefined {
  const program = `docker-credential-${name}`;
  if (!NAME.test(name)) throw new CredentialHelperError(program, configPath, 'is not a valid helper name (letters, digits, ".", "_", "-")');
  let stdout: string;
  try {
    stdout = execFileSync(program, ['get'], {
      input: server,
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? CREDENTIAL_HELPER_TIMEOUT_MS,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 1024 * 1024,
    });
  } catch (err) {
    return failed(err as NodeJS.ErrnoException & { stdout?: string; stderr?: string; signal?: string }, program, configPath, options);
  }
  return parseAnswer(stdout, program, configPath);
}

function failed(
  err: NodeJS.ErrnoException & { stdout?: string; stderr?: string; signal?: string },
  program: string,
  configPath: string,
  options: CredentialHelperOptions,
): undefined {
  if (NOT_FOUND.test(`${err.stdout ?? ''}${err.stderr ?? ''}`)) return undefined;
  if (err.code === 'ENOENT') {
    throw new CredentialHelperError(program, configPath, 'is not on PATH; install it, or remove credsStore/credHelpers from that file', { cause: err });
  }
  if (err.code === 'ETIMEDOUT' || err.signal === 'SIGTERM') {
    throw new CredentialHelperError(program, configPath, `did not answer within ${(options.timeoutMs ?? CREDENTIAL_HELPER_TIMEOUT_MS) / 1000} s`, { cause: err });
  }
  // Only the exit status and the first line of stderr: a helper's own error words, never its stdout.
  const said = (err.stderr ?? '').trim().split('\n')[0]?.slice(0, 200);
  throw new CredentialHelperError(program, configPath, `failed (${err.message.split('\n')[0]})${said ? `: ${said}` : ''}`, { cause: err });
}

function parseAnswer(stdout: string, program: string, configPath: string): RegistryCredentials | undefined {
  let answer: { Username?: unknown; Secret?: unknown };
  try {
    answer = JSON.parse(stdout) as typeof answer;
  } catch {
    throw new CredentialHelperError(program, configPath, 'printed something that is not JSON');
  }
  if (typeof answer.Username !== 'string' || typeof answer.Secret !== 'string') {
    throw new CredentialHelperError(program, configPath, 'printed JSON without string Username and Secret');
  }
  if (answer.Secret === '') return undefined;
  return { username: answer.Username, password: answer.Secret };
}
