/**
 * What the farm records about a build in the published index, and nowhere else: image
 * configs carry only what the Dockerfile and --label put there, so a child's digest does
 * not depend on which agent built it or under which build id. The index is the build's
 * own object (it lists this build's children), so it is the place for this record.
 * Every key the farm writes is here; operators' annotations may not use the prefix.
 */
export const FARM_ANNOTATION_PREFIX = 'io.archfarm.';

/** On the index: the build id (`archfarm builds inspect ID`). */
export const ANNOTATION_BUILD_ID = 'io.archfarm.build.id';

/** On each child's descriptor in the index: the agent that built it. */
export const ANNOTATION_AGENT = 'io.archfarm.agent';

/** On each child's descriptor in the index: `native` or `emulated`. */
export const ANNOTATION_MODE = 'io.archfarm.mode';
