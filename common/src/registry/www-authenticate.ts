/** One challenge of a WWW-Authenticate header: its scheme (lowercased) and parameters. */
export interface AuthChallenge {
  scheme: string;
  /** Parameter names are lowercased; values are unquoted. */
  params: Record<string, string>;
}

const TOKEN = /[^\s,="]+/y;
const SPACES = /[\s,]*/y;
const PARAM_START = /([^\s,="]+)\s*=\s*/y;

/**
 * Parses a WWW-Authenticate header (RFC 9110 §11.6.1) into its challenges, e.g.
 * `Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull"`.
 * A header may hold several challenges separated by commas, which is why params and
 * schemes are told apart by the "=" that follows a parameter name.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let pos = 0;
  const skip = (): void => {
    SPACES.lastIndex = pos;
    // A failed sticky match resets lastIndex to 0: only move forward on a match.
    if (SPACES.exec(header)) pos = SPACES.lastIndex;
  };
  skip();
  while (pos < header.length) {
    TOKEN.lastIndex = pos;
    const scheme = TOKEN.exec(header);
    if (!scheme) break;
    pos = TOKEN.lastIndex;
    const challenge: AuthChallenge = { scheme: scheme[0].toLowerCase(), params: {} };
    out.push(challenge);
    skip();
    for (;;) {
      PARAM_START.lastIndex = pos;
      const name = PARAM_START.exec(header);
      if (!name) break;
      pos = PARAM_START.lastIndex;
      const [value, next] = readValue(header, pos);
      challenge.params[name[1]!.toLowerCase()] = value;
      pos = next;
      skip();
    }
  }
  return out;
}

/** Reads a quoted-string (with backslash escapes) or a token starting at `pos`. */
function readValue(text: string, pos: number): [string, number] {
  if (text[pos] !== '"') {
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(text);
    return m ? [m[0], TOKEN.lastIndex] : ['', pos];
  }
  let value = '';
  let i = pos + 1;
  while (i < text.length && text[i] !== '"') {
    if (text[i] === '\\' && i + 1 < text.length) i++;
    value += text[i];
    i++;
  }
  return [value, Math.min(i + 1, text.length)];
}
