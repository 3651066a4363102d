import { ImageRef, InvalidInputError, Platform } from '@archfarm/common';
import { AnnotationLevel, type Annotation, type BuildSecret } from '@archfarm/proto';
import type { AnnotationLevelName, BuildAnnotation, BuildSecretValue } from '../builds/build';
import { FARM_ANNOTATION_PREFIX } from '../publish/farm-annotations';
import { MAX_SECRET_BYTES, MAX_SECRETS_BYTES } from '../security/limits';

/*
 * The buildx flags of a SubmitBuild request (-t repeated, --label, --annotation, --secret),
 * checked field by field. Counts and total sizes are checked first by checkSubmitLimits.
 */

/**
 * Every tag to publish under, `tag` first. Old clients send `tag` alone; new ones send
 * `tags` and may leave `tag` empty. All tags must name one repository: the farm's agents
 * push each platform's image into the tag's repository, and the index can only point at
 * manifests in the repository it is written to. Tags in another repository (or registry)
 * would need the children copied there first, which the farm does not do yet.
 */
export function validateTags(tag: string, tags: readonly string[]): ImageRef[] {
  const texts = tags.length > 0 ? tags : [tag];
  if (tags.length > 0 && tag !== '' && tag !== tags[0]) {
    throw new InvalidInputError('tag', `"${tag}" is not the first of tags ("${tags[0]}"); send tag empty or equal to tags[0]`);
  }
  const refs: ImageRef[] = [];
  for (const text of texts) {
    const ref = ImageRef.parse(text, 'tag');
    if (ref.digest !== undefined || text.includes('@')) throw new InvalidInputError('tag', `"${text}" names a digest; give a tag to publish under, e.g. ${ref.name}:1`);
    const first = refs[0];
    if (first && ref.name !== first.name) {
      throw new InvalidInputError(
        'tag',
        `"${text}" is in ${ref.name}, but ${first.toString()} is in ${first.name}: every -t must name the same registry and repository (the farm writes one index into one repository); build once per repository`,
      );
    }
    if (!refs.some((r) => r.toString() === ref.toString())) refs.push(ref);
  }
  return refs;
}

/** `--label K=V`: image config labels. */
export function validateImageLabels(labels: Record<string, string>): Record<string, string> {
  for (const key of Object.keys(labels)) {
    if (key.trim() === '') throw new InvalidInputError('label', 'a label key is empty; use --label KEY=VALUE');
  }
  return { ...labels };
}

const LEVELS = new Map<AnnotationLevel, AnnotationLevelName>([
  [AnnotationLevel.ANNOTATION_LEVEL_UNSPECIFIED, 'manifest'],
  [AnnotationLevel.ANNOTATION_LEVEL_MANIFEST, 'manifest'],
  [AnnotationLevel.ANNOTATION_LEVEL_INDEX, 'index'],
  [AnnotationLevel.ANNOTATION_LEVEL_MANIFEST_DESCRIPTOR, 'manifest-descriptor'],
]);

/**
 * `--annotation [LEVEL[PLATFORM]:]K=V`. A platform must be one the build makes (an
 * annotation for another would silently go nowhere); the index has no platform; the
 * farm's own io.archfarm.* keys are refused so that no build can forge them.
 */
export function validateAnnotations(annotations: readonly Annotation[], platforms: readonly Platform[]): BuildAnnotation[] {
  return annotations.map((a) => {
    const level = LEVELS.get(a.level);
    if (level === undefined) throw new InvalidInputError('annotation', `"${a.key}" has an unknown level (${a.level}); use index:, manifest: or manifest-descriptor:`);
    if (a.key.trim() === '') throw new InvalidInputError('annotation', 'an annotation key is empty; use --annotation [LEVEL:]KEY=VALUE');
    if (a.key.startsWith(FARM_ANNOTATION_PREFIX)) {
      throw new InvalidInputError('annotation', `"${a.key}": ${FARM_ANNOTATION_PREFIX}* keys are the farm's own record of the build; use another prefix`);
    }
    if (a.platform === '') return { level, key: a.key, value: a.value };
    if (level === 'index') throw new InvalidInputError('annotation', `"${a.key}": an index annotation is for the whole index; drop [${a.platform}]`);
    const platform = Platform.parse(a.platform, 'annotation');
    if (!platforms.some((p) => p.equals(platform))) {
      throw new InvalidInputError('annotation', `"${a.key}" is for ${platform.toString()}, which this build does not make (${platforms.join(', ')})`);
    }
    return { level, key: a.key, value: a.value, platform };
  });
}

const SECRET_ID = /^[A-Za-z0-9_.-]+$/;

/**
 * `--secret id=ID,...`: ids as BuildKit accepts them, each once, values within BuildKit's
 * 500 KiB and a total that fits the agent's job message. Messages never quote a value.
 */
export function validateSecrets(secrets: readonly BuildSecret[]): BuildSecretValue[] {
  const seen = new Set<string>();
  let total = 0;
  return secrets.map(({ id, value }) => {
    if (!SECRET_ID.test(id)) throw new InvalidInputError('secret', `id "${id}" must be 1 or more letters, digits, '_', '.' or '-'; e.g. --secret id=npmrc,src=$HOME/.npmrc`);
    if (seen.has(id)) throw new InvalidInputError('secret', `id "${id}" is given twice`);
    seen.add(id);
    if (value.length > MAX_SECRET_BYTES) throw new InvalidInputError('secret', `"${id}" is ${value.length} bytes, over the limit of ${MAX_SECRET_BYTES} (BuildKit's)`);
    total += value.length;
    if (total > MAX_SECRETS_BYTES) throw new InvalidInputError('secret', `the secrets add up to more than ${MAX_SECRETS_BYTES} bytes; pass large files in the context instead`);
    return { id, value: Buffer.from(value) };
  });
}
