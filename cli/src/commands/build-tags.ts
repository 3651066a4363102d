import { ImageRef, InvalidInputError } from '@archfarm/common';

const EXAMPLE = 'e.g. -t 127.0.0.1:5000/hello:1';

/**
 * Every -t (and `-o type=registry,name=...`) as an image reference with its registry; the
 * index goes under each. Repeats are dropped, first place kept: tags[0] is the one old
 * coordinators, which know a single tag, are sent.
 */
export function parseTags(flagTags: readonly string[], outputNames: readonly string[]): ImageRef[] {
  const given: [string, string][] = [...flagTags.map((t): [string, string] => [t, '--tag']), ...outputNames.map((n): [string, string] => [n, '--output'])];
  if (given.length === 0) throw new InvalidInputError('--tag', `is required: the image to publish, ${EXAMPLE}; repeat -t for more tags`);
  const tags: ImageRef[] = [];
  for (const [text, field] of given) {
    const ref = ImageRef.parse(text.trim(), field);
    if (ref.digest !== undefined) {
      throw new InvalidInputError(field, `"${text}" names a digest; the build publishes under a tag, ${EXAMPLE}`);
    }
    if (!tags.some((t) => t.toString() === ref.toString())) tags.push(ref);
  }
  return tags;
}

/**
 * --label as buildx reads it: KEY=VALUE, or a bare KEY for an empty value; a later KEY wins.
 */
export function parseLabels(items: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    if (!/^[^\s=]+$/.test(key)) throw new InvalidInputError('--label', `"${item}" is not KEY=VALUE; write e.g. --label org.opencontainers.image.version=1.4`);
    labels[key] = eq < 0 ? '' : item.slice(eq + 1);
  }
  return labels;
}
