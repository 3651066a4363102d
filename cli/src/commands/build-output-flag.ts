import { InvalidInputError } from '@archfarm/common';
import { keyValueFields } from '../csv-fields';
import type { OutputFormat } from '../options';

/** What -o/--output, --push and --load said, together. */
export interface OutputChoice {
  /** The result on stdout: the digest ('text') or a JSON object. */
  format: OutputFormat;
  /** Image names given with `type=registry,name=...`: more tags, as buildx adds them. */
  names: string[];
}

const FORMATS: readonly OutputFormat[] = ['text', 'json'];
/** The only attributes of a registry output the farm acts on. */
const REGISTRY_KEYS = new Set(['type', 'name', 'push']);

/** Why the farm refuses an exporter that writes to this machine, and what it does instead. */
function elsewhere(what: string): string {
  return (
    `${what} writes the image on this machine; the farm builds on its agents and always publishes one ` +
    'multi-platform index to the registry under the -t tags (as --push or -o type=registry do). ' +
    'After the build, pull it with "docker pull TAG" or copy it with "skopeo copy docker://TAG oci-archive:image.tar"'
  );
}

/**
 * -o/--output carries two meanings: archfarm's result format (`json`, `text`) and buildx's
 * exporter (`type=registry[,name=...]`, accepted as what the farm always does). --push is
 * buildx's `-o type=registry` and changes nothing; --load and every exporter that writes to
 * this machine (docker, local, tar, oci, image without push, a bare path) are refused.
 */
export function parseOutputFlags(values: readonly string[], load: boolean): OutputChoice {
  if (load) throw new InvalidInputError('--load', elsewhere('--load (buildx: -o type=docker)'));
  const formats = new Set<OutputFormat>();
  const names: string[] = [];
  for (const value of values) {
    const text = value.trim();
    const format = FORMATS.find((f) => f === text.toLowerCase());
    if (format !== undefined) formats.add(format);
    else if (!text.includes('=')) throw new InvalidInputError('--output', bareValue(text));
    else names.push(...exporterNames(text));
  }
  if (formats.size > 1) throw new InvalidInputError('--output', 'give one result format, json or text, not both');
  return { format: [...formats][0] ?? 'text', names };
}

function bareValue(text: string): string {
  if (text === '') return 'is empty; give json, text, or type=registry';
  const what = text === '-' ? '"-o -" (buildx: a tar on stdout)' : `"-o ${text}" (buildx: files in the directory ${text})`;
  return `"${text}" is not json, text or type=TYPE[,KEY=VALUE]: ${elsewhere(what)}`;
}

/** The names a `type=registry,...` (or `type=image,push=true,...`) output adds. */
function exporterNames(text: string): string[] {
  const fields = keyValueFields(text, '--output', 'type=registry,name=reg.example/app:1');
  const attrs = new Map(fields);
  const type = attrs.get('type')?.trim().toLowerCase();
  if (type === undefined || type === '') throw new InvalidInputError('--output', `"${text}" has no type=; e.g. -o type=registry`);
  const push = attrs.get('push')?.trim().toLowerCase();
  if (type !== 'registry' && type !== 'image') throw new InvalidInputError('--output', elsewhere(`type=${type}`));
  if (type === 'image' && push !== 'true') throw new InvalidInputError('--output', elsewhere('type=image without push=true'));
  if (type === 'registry' && push === 'false') throw new InvalidInputError('--output', elsewhere('type=registry,push=false'));
  for (const [key] of fields) {
    if (!REGISTRY_KEYS.has(key)) {
      throw new InvalidInputError('--output', `the farm does not support "${key}" in "${text}"; it takes type=registry with name= (more tags) and push=`);
    }
  }
  const name = attrs.get('name');
  if (name === undefined) return [];
  const names = name.split(',').map((n) => n.trim());
  if (names.some((n) => n === '')) throw new InvalidInputError('--output', `"${text}" has an empty name=; e.g. -o type=registry,name=reg.example/app:1`);
  return names;
}
