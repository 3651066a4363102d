import { posix } from 'node:path';
import { InvalidInputError } from './errors';

/**
 * A git build context in buildx's syntax, `URL#REF:SUBDIR`: `REF` is a branch, tag, full ref
 * or commit ('' is the remote's HEAD), `SUBDIR` a directory inside the repository ('' is its
 * root). The same shape as the coordinator's GitSourceRecord and the wire's GitSource.
 */
export interface GitSource {
  url: string;
  ref: string;
  subdir: string;
}

/** The transports a git context may use: the network ones. file:// and ext:: never (see parseGitSource). */
export const GIT_TRANSPORTS = ['https', 'http', 'git', 'ssh'] as const;

/** The longest URL, ref or subdir taken (git hosts' own limits are of this order). */
const MAX_PART_CHARS = 2048;

/** Docker's rule for an http(s) URL that is a repository: its path ends in `.git`, maybe with a fragment. */
const HTTP_GIT_PATH = /\.git(?:#.+)?$/;
/** scp-like ssh: `user@host:path` (docker's and buildx's `git@host:org/repo.git`). */
const SCP_LIKE = /^([A-Za-z0-9._-]+)@([A-Za-z0-9.-]+):(?!\/\/)(.+)$/;
/** Characters git refuses in a ref name (git check-ref-format), and whitespace. */
const BAD_REF = /[\s~^:?*[\\\u0000-\u001f\u007f]|\.\.|@\{|^[-/]|\/$|\.lock$|\/\/|^@$/;

/**
 * Whether a `build` argument names a git repository rather than a directory, by docker's and
 * buildx's rule: an http(s) URL whose path ends in `.git` (then maybe `#ref:subdir`), or one
 * starting with `git://`, `github.com/` or `git@`; buildx adds `ssh://`. Anything else is a
 * directory, so `./repo.git` or a directory named `https:` stays a local context, as there.
 */
export function isGitUrl(arg: string): boolean {
  if (/^https?:\/\//i.test(arg)) return HTTP_GIT_PATH.test(arg);
  return /^(git|ssh):\/\//i.test(arg) || arg.startsWith('github.com/') || arg.startsWith('git@');
}

/**
 * Parses `URL#REF:SUBDIR` into its parts; throws InvalidInputError naming `field` (the API's
 * `context`, the CLI's CONTEXT argument) with the fix. Refused: transports other than
 * GIT_TRANSPORTS, and credentials in the URL (see rejectCredentials).
 */
export function parseGitSource(text: string, field = 'context'): GitSource {
  const hash = text.indexOf('#');
  const rawUrl = hash < 0 ? text : text.slice(0, hash);
  const fragment = hash < 0 ? '' : text.slice(hash + 1);
  const colon = fragment.indexOf(':');
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const subdir = colon < 0 ? '' : fragment.slice(colon + 1);
  // github.com/org/repo is docker's shorthand for the https URL.
  const url = rawUrl.startsWith('github.com/') ? `https://${rawUrl}` : rawUrl;
  return validateGitSource({ url, ref, subdir }, field);
}

/**
 * Checks a git source that arrived in parts (the API's GitSource): the URL's transport and
 * form, the ref's characters, the subdir inside the repository. Returns it normalised
 * (subdir without leading `./` or trailing `/`; '' for the root).
 */
export function validateGitSource(source: GitSource, field = 'context'): GitSource {
  for (const [part, value] of Object.entries(source)) {
    if (typeof value === 'string' && value.length > MAX_PART_CHARS) throw new InvalidInputError(field, `the git ${part} is ${value.length} characters, over ${MAX_PART_CHARS}`);
  }
  const url = source.url.trim();
  if (url === '') throw new InvalidInputError(field, 'the git URL is empty; e.g. https://host/org/repo.git#main:subdir');
  checkUrl(url, field);
  const ref = source.ref.trim();
  if (ref !== '' && BAD_REF.test(ref)) {
    throw new InvalidInputError(field, `"${ref}" is not a git ref; after # give a branch, tag or commit, e.g. ${url}#main:subdir`);
  }
  return { url, ref, subdir: normaliseSubdir(source.subdir, url, field) };
}

/** `URL#REF:SUBDIR` again, as buildx writes it (for messages and listings). */
export function formatGitSource(source: GitSource): string {
  const fragment = source.subdir ? `${source.ref}:${source.subdir}` : source.ref;
  return fragment ? `${source.url}#${fragment}` : source.url;
}

function checkUrl(url: string, field: string): void {
  const scp = SCP_LIKE.exec(url);
  if (scp) {
    // The user is a login name for ssh, not a secret; a path like "-oProxyCommand" would be an option.
    if (scp[3]!.startsWith('-')) throw new InvalidInputError(field, `"${url}" has a repository path starting with "-"`);
    return;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new InvalidInputError(field, `"${url}" is not a git URL; use https://host/org/repo.git, git://host/repo.git, ssh://user@host/repo.git or git@host:org/repo.git`, { cause: err });
  }
  const scheme = parsed.protocol.replace(/:$/, '').toLowerCase();
  if (!(GIT_TRANSPORTS as readonly string[]).includes(scheme)) {
    throw new InvalidInputError(field, `"${scheme}" is not an allowed git transport; the coordinator fetches over ${GIT_TRANSPORTS.join(', ')} only (never file:// or ext::, which would read its own disk or run commands)`);
  }
  if (parsed.hostname === '') throw new InvalidInputError(field, `"${url}" names no host`);
  if (parsed.pathname === '' || parsed.pathname === '/') throw new InvalidInputError(field, `"${url}" names no repository path`);
  rejectCredentials(parsed, scheme, field);
}

/**
 * A password or token in the URL (https://user:token@host) is refused rather than stripped:
 * the URL is stored with the build and the schedule and shown to viewers (`builds inspect`),
 * and a schedule refetches at every tick, so a stripped secret would have to be kept somewhere
 * else, sealed, and handed to git: a credential store for git the farm does not have yet.
 * Refusing says so at once; a stripped URL would fail later, at a tick, for a reason hidden.
 * Over http(s) and git:// even a bare user is refused, since hosts take a token there
 * (https://TOKEN@github.com); over ssh the user is a login name and stays.
 */
function rejectCredentials(parsed: URL, scheme: string, field: string): void {
  const credentialed = parsed.password !== '' || (scheme !== 'ssh' && parsed.username !== '');
  if (credentialed) {
    throw new InvalidInputError(field, `the git URL carries credentials (${scheme}://USER${parsed.password ? ':***' : ''}@${parsed.host}); they would be stored and shown with the build, so the coordinator refuses them: use a repository it can read without credentials`);
  }
}

function normaliseSubdir(subdir: string, url: string, field: string): string {
  const given = subdir.trim();
  if (given === '') return '';
  const norm = posix.normalize(given).replace(/\/+$/, '');
  if (posix.isAbsolute(norm) || norm === '..' || norm.startsWith('../') || given.includes('\u0000')) {
    throw new InvalidInputError(field, `subdir "${subdir}" is outside the repository; give a directory inside it, e.g. ${url}#main:docker`);
  }
  return norm === '.' ? '' : norm;
}
