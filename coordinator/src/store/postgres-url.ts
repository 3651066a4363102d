/* The `--store` value: a PostgreSQL URL (postgres:// or postgresql://), as libpq and node-postgres read it. */

const SCHEMES = ['postgres:', 'postgresql:'];

/** True for a postgres:// or postgresql:// URL. */
export function isPostgresUrl(text: string): boolean {
  try {
    return SCHEMES.includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

/** The URL with its password (if any) replaced, for logs and error messages. */
export function redactPostgresUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(an unparsable PostgreSQL URL)';
  }
}
