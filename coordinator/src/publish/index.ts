/** Publishing a build: checking each platform's pushed image and writing one index. */
export * from './errors';
export * from './image-index';
export * from './platform-select';
export * from './resolve-platform-image';
export * from './publish-index';
export * from './farm-annotations';
