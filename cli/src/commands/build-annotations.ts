import { InvalidInputError, Platform } from '@archfarm/common';
import { AnnotationLevel, type Annotation } from '@archfarm/proto';

const FIELD = '--annotation';
const EXAMPLE = 'e.g. --annotation index:org.opencontainers.image.description=hello';
/** buildx's prefix: types, an optional [platform], a colon; then the key (no blanks). */
const PREFIXED = /^(?:(?<types>[a-z,-]+)(?:\[(?<platform>[A-Za-z0-9_/-]+)\])?:)?(?<key>\S+)$/;

const LEVELS: Readonly<Record<string, AnnotationLevel>> = {
  index: AnnotationLevel.ANNOTATION_LEVEL_INDEX,
  manifest: AnnotationLevel.ANNOTATION_LEVEL_MANIFEST,
  'manifest-descriptor': AnnotationLevel.ANNOTATION_LEVEL_MANIFEST_DESCRIPTOR,
};

/**
 * `--annotation [TYPE[,TYPE][PLATFORM]:]KEY=VALUE` as buildx reads it: TYPE is index, manifest
 * or manifest-descriptor, none means manifest; `manifest[linux/arm64]:k=v` only that platform's
 * manifest. `index-descriptor` is buildx's descriptor of an index inside an OCI layout, which
 * a registry push has none of. A platform must be one the build builds, or nothing would
 * carry the annotation.
 */
export function parseAnnotations(values: readonly string[], platforms: readonly Platform[]): Annotation[] {
  return values.flatMap((value) => parseAnnotation(value, platforms));
}

function parseAnnotation(value: string, platforms: readonly Platform[]): Annotation[] {
  const eq = value.indexOf('=');
  if (eq < 0) throw new InvalidInputError(FIELD, `"${value}" is not [TYPE:]KEY=VALUE; ${EXAMPLE}`);
  const m = PREFIXED.exec(value.slice(0, eq));
  if (!m?.groups) throw new InvalidInputError(FIELD, `"${value}" is not [TYPE[PLATFORM]:]KEY=VALUE (no blanks in the key); ${EXAMPLE}`);
  const { types, platform: platformText, key } = m.groups;
  const annotationValue = value.slice(eq + 1);
  const levels = (types ?? 'manifest').split(',').map((t) => levelOf(t, value));
  const platform = platformText === undefined ? '' : builtPlatform(platformText, value, platforms);
  if (platform !== '' && levels.includes(AnnotationLevel.ANNOTATION_LEVEL_INDEX)) {
    throw new InvalidInputError(FIELD, `"${value}": the index covers every platform; drop [${platformText}] or use manifest[${platformText}]:`);
  }
  return levels.map((level) => ({ level, key: key!, value: annotationValue, platform }));
}

function levelOf(type: string, value: string): AnnotationLevel {
  if (type === 'index-descriptor') {
    throw new InvalidInputError(FIELD, `"${value}": the farm publishes to a registry, where there is no index-descriptor (buildx writes one only into OCI layouts); use index: instead`);
  }
  const level = LEVELS[type];
  if (level === undefined) throw new InvalidInputError(FIELD, `"${value}": unknown type "${type}"; use index, manifest or manifest-descriptor`);
  return level;
}

function builtPlatform(text: string, value: string, platforms: readonly Platform[]): string {
  const p = Platform.parse(text, FIELD);
  if (!platforms.some((q) => q.equals(p))) {
    throw new InvalidInputError(FIELD, `"${value}" names ${p.toString()}, which this build does not build (--platform ${platforms.join(',')})`);
  }
  return p.toString();
}
