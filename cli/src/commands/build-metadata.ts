import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '@archfarm/common';
import type { BuildFinished } from '@archfarm/proto';
import { ResultFileError } from '../errors';
import { modeName } from '../progress/format';
import { publishedTags } from './build-result';

/** --metadata-file: buildx's keys for the published index, then archfarm's own. */
export interface BuildMetadataJson {
  'containerimage.digest': string;
  /** Every tag, comma-separated, as buildx writes it. */
  'image.name': string;
  /** Left out when the coordinator is too old to say the index's media type and size. */
  'containerimage.descriptor'?: { mediaType: string; digest: string; size: number };
  'archfarm.build': string;
  'archfarm.platforms': {
    platform: string;
    digest: string;
    agent: string;
    mode: string;
    bases: { ref: string; digest: string }[];
  }[];
}

/** Where --metadata-file and --iidfile write; absolute paths, undefined when not asked. */
export interface ResultFiles {
  metadataFile: string | undefined;
  iidFile: string | undefined;
}

export function buildMetadataJson(buildId: string, finished: BuildFinished): BuildMetadataJson {
  const { digest, mediaType, size } = finished;
  return {
    'containerimage.digest': digest,
    'image.name': publishedTags(finished).join(','),
    ...(mediaType !== '' && size > 0 ? { 'containerimage.descriptor': { mediaType, digest, size: Number(size) } } : {}),
    'archfarm.build': buildId,
    'archfarm.platforms': finished.platforms.map((p) => ({
      platform: p.platform,
      digest: p.digest,
      agent: p.agent,
      mode: modeName(p.mode),
      bases: p.bases.map((b) => ({ ref: b.ref, digest: b.digest })),
    })),
  };
}

/**
 * Writes --metadata-file and --iidfile for a published build. Each file appears whole or
 * not at all (written beside it, then renamed), so a CI step never reads half a file.
 */
export async function writeResultFiles(files: ResultFiles, buildId: string, finished: BuildFinished): Promise<void> {
  const jobs: [string, string, string][] = [];
  if (files.metadataFile) jobs.push(['--metadata-file', files.metadataFile, `${JSON.stringify(buildMetadataJson(buildId, finished), null, 2)}\n`]);
  // buildx writes the bare digest, no newline: `$(cat iid)` and `docker pull repo@$(cat iid)` rely on it.
  if (files.iidFile) jobs.push(['--iidfile', files.iidFile, finished.digest]);
  for (const [flag, file, text] of jobs) {
    try {
      await writeAtomically(file, text);
    } catch (err) {
      throw new ResultFileError(flag, file, buildId, finished.digest, errorMessage(err), { cause: err });
    }
  }
}

export async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, text, { flag: 'wx' });
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
