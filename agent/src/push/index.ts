/** Pushing an image the engine built, by digest, to the build's registry repository. */
export * from './errors';
export * from './push-saved-image';
export { SOURCE_DATE_EPOCH, sourceDateEpochOf } from './source-date-epoch';
export { pushAuth } from './push-auth';
