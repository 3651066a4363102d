import { Readable } from 'node:stream';
import { errorMessage, type RegistryClient } from '@archfarm/common';
import type { CheckedBuild, MismatchWhere } from './errors';
import { describeDifference, diffTars } from './tar-diff';

/** Layers are read whole from the registry (RegistryClient.getBlob); a larger one is named, not opened. */
export const MAX_COMPARED_LAYER_BYTES = 512 * 1024 * 1024;
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

interface Descriptor {
  digest: string;
  size?: number;
}

interface ImageManifest {
  config?: Descriptor;
  layers?: Descriptor[];
}

/**
 * Where two different images of one platform first part: the first layer whose digest
 * differs and, from both layer blobs, the first file that differs (./tar-diff); or, when all
 * layers agree, the configs. Reads the registry only; any failure to read becomes the
 * detail's words, since the mismatch itself is already certain.
 */
export async function explainMismatch(client: RegistryClient, repository: string, first: CheckedBuild, second: CheckedBuild): Promise<MismatchWhere> {
  const names = { first: first.agent, second: second.agent };
  let a: ImageManifest;
  let b: ImageManifest;
  try {
    const manifest = async (c: CheckedBuild) => (await client.getManifest(repository, c.digest)).json as ImageManifest;
    [a, b] = await Promise.all([manifest(first), manifest(second)]);
  } catch (err) {
    return { detail: `their manifests could not be read to find the layer: ${errorMessage(err)}` };
  }
  const la = a.layers ?? [];
  const lb = b.layers ?? [];
  const index = firstLayerDifference(la.map((l) => l.digest), lb.map((l) => l.digest));
  if (index === undefined) return explainConfigs(client, repository, a.config, b.config, names);
  const da = la[index]?.digest;
  const db = lb[index]?.digest;
  const layer = `layer ${index + 1} of ${Math.max(la.length, lb.length)} (index ${index})`;
  if (!da || !db) {
    const only = da ? first.agent : second.agent;
    return { layerIndex: index, detail: `${layer} is only in the image ${only} built (${la.length} vs ${lb.length} layers)` };
  }
  const at = `${layer} differs (${da} vs ${db})`;
  try {
    const [ba, bb] = await Promise.all([da, db].map((d) => client.getBlob(repository, d, MAX_COMPARED_LAYER_BYTES)));
    const diff = await diffTars(Readable.from([ba!]), Readable.from([bb!]));
    if (!diff) return { layerIndex: index, layerDigests: [da, db], detail: `${at}, yet its tar entries agree (the tar headers or compression differ)` };
    return { layerIndex: index, layerDigests: [da, db], path: `/${diff.path}`, detail: `${at}: ${describeDifference(diff, names)}` };
  } catch (err) {
    return { layerIndex: index, layerDigests: [da, db], detail: `${at}; its files could not be compared: ${errorMessage(err)}` };
  }
}

/** The index of the first layer that differs (or that one image lacks); undefined when all agree. Pure. */
export function firstLayerDifference(a: readonly string[], b: readonly string[]): number | undefined {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return undefined;
}

async function explainConfigs(client: RegistryClient, repository: string, a: Descriptor | undefined, b: Descriptor | undefined, names: { first: string; second: string }): Promise<MismatchWhere> {
  if (!a || !b || a.digest === b.digest) return { detail: 'every layer and the config agree: the manifests differ (media types or annotations)' };
  const at = `every layer agrees, the image configs differ (${a.digest} vs ${b.digest})`;
  try {
    const [ca, cb] = await Promise.all([a, b].map(async (d) => JSON.parse((await client.getBlob(repository, d.digest, MAX_CONFIG_BYTES)).toString('utf8')) as unknown));
    const field = firstFieldDifference(ca, cb);
    return { detail: field ? `${at}: ${field} differs between ${names.first} and ${names.second}` : at };
  } catch (err) {
    return { detail: `${at}; they could not be compared: ${errorMessage(err)}` };
  }
}

/** The first JSON path where two values differ, e.g. "config.Env", or undefined when equal. Pure. */
export function firstFieldDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) || Array.isArray(b)) return path || '(the whole config)';
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  for (const key of keys) {
    const found = firstFieldDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
    if (found) return found;
  }
  return path || '(the whole config)';
}
