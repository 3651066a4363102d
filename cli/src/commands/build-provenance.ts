import { InvalidInputError } from '@archfarm/common';

/**
 * --provenance as buildx users write it: a boolean (`false`, `0`, `true`, `1`) or buildx's
 * attestation options (`mode=max`, `mode=min,...`, `disabled=true`). Only a false value or
 * `disabled=true` turns the farm's provenance off: it has one kind of statement, so every
 * mode means "on". Returns true when the build must publish none (SubmitBuildRequest.no_provenance).
 */
export function parseNoProvenance(value: string | undefined): boolean {
  if (value === undefined) return false;
  const text = value.trim().toLowerCase();
  if (text === '') throw new InvalidInputError('--provenance', 'needs a value: false to publish no provenance, true (or mode=max) to publish it');
  if (text === 'false' || text === '0') return true;
  return text.split(',').some((field) => field.trim() === 'disabled=true');
}
