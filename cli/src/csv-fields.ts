import { InvalidInputError } from '@archfarm/common';

/**
 * Splits one flag value into comma-separated fields as buildx does (Go's encoding/csv): a
 * field may be quoted, `"name=a,b"`, to hold commas, and `""` inside quotes is one quote.
 */
export function splitCsvFields(text: string, field: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let value = '';
    if (text[i] === '"') {
      i += 1;
      for (;;) {
        if (i >= text.length) throw new InvalidInputError(field, `"${text}" has an unterminated quote`);
        if (text[i] === '"' && text[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (text[i] === '"') {
          i += 1;
          break;
        } else {
          value += text[i++];
        }
      }
      if (i < text.length && text[i] !== ',') throw new InvalidInputError(field, `"${text}" has text after a closing quote`);
    } else {
      const end = text.indexOf(',', i);
      value = text.slice(i, end < 0 ? text.length : end);
      if (value.includes('"')) throw new InvalidInputError(field, `"${text}" has a quote inside a field; quote the whole field, e.g. "name=a,b"`);
      i = end < 0 ? text.length : end;
    }
    fields.push(value);
    if (i >= text.length) return fields;
    i += 1; // the comma
  }
}

/** "key=value" fields into pairs, keys lower-cased as buildx does; a field without '=' is an error. */
export function keyValueFields(text: string, field: string, example: string): [string, string][] {
  return splitCsvFields(text, field).map((f) => {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new InvalidInputError(field, `"${f}" in "${text}" is not key=value; e.g. ${field} ${example}`);
    return [f.slice(0, eq).trim().toLowerCase(), f.slice(eq + 1)];
  });
}
