/*
 * Build output comes from Dockerfiles, agents and registries, none of them the operator's:
 * written raw to a terminal, an escape sequence in it can rewrite the screen, set the window
 * title, hide lines, or on some terminals answer back as typed input (threat 13 of issue 15).
 * What people read is neutralised here; what machines read stays exact (see jsonSafe).
 */

// C0 controls but tab and newline, DEL, C1 controls (U+0080-U+009F: a UTF-8 CSI is U+009B),
// and a carriage return unless it ends a CRLF line (harmless there: nothing is overwritten).
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|\r(?!\n)/g;
// What JSON.stringify leaves raw that a terminal (or a JavaScript line reader) may act on.
const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029]/g;

/** The text with each control character but \n, \t and a CRLF's \r shown as `\xNN`, so it prints and does nothing. */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * A JSON text with DEL, C1 controls and the line separators written as \u escapes: the same
 * value once parsed (byte-honest for machines, as `docker buildx --progress rawjson` is), and
 * a line that does nothing when shown raw. JSON.stringify already escapes C0 controls.
 */
export function jsonSafe(json: string): string {
  return json.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
