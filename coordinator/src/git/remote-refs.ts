/** A full commit id (SHA-1): taken as the commit itself, never looked up. */
export const COMMIT_ID = /^[0-9a-f]{40}$/;

/** What a git context's ref names on the remote: the ref to fetch and the commit it points at. */
export interface RemoteRef {
  /** The full name to fetch (refs/heads/main, HEAD), or the commit id itself. */
  name: string;
  commit: string;
}

/** The patterns to ask `git ls-remote` for: the ref and its peeled tag line. */
export function lsRemotePatterns(ref: string): string[] {
  return ref === '' ? ['HEAD'] : [ref, `${ref}^{}`];
}

/**
 * Picks the ref that `ref` names from `git ls-remote` output ("<oid>\t<name>" lines), in
 * git's own order of rev-parse: the name as given (HEAD, refs/...), then refs/<ref>, a tag,
 * a branch. An annotated tag resolves to the commit it points at (its peeled `^{}` line).
 * Undefined when none matches.
 */
export function pickRemoteRef(lsRemote: string, ref: string): RemoteRef | undefined {
  const oids = new Map<string, string>();
  for (const line of lsRemote.split('\n')) {
    const [oid, name] = line.split('\t');
    if (oid && name && COMMIT_ID.test(oid)) oids.set(name, oid);
  }
  const wanted = ref === '' ? 'HEAD' : ref;
  for (const name of [wanted, `refs/${wanted}`, `refs/tags/${wanted}`, `refs/heads/${wanted}`]) {
    const oid = oids.get(name);
    if (oid !== undefined) return { name, commit: oids.get(`${name}^{}`) ?? oid };
  }
  return undefined;
}
