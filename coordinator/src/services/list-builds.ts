import { InvalidInputError } from '@archfarm/common';
import type { ListBuildsRequest } from '@archfarm/proto';
import { buildStateFromWire } from '../builds/wire-state';
import type { ListBuildsFilter } from '../store';

/** Builds one ListBuilds answers when the request names no limit, and the most it may ask for. */
export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 500;

/**
 * What the store is asked for one ListBuilds request: the limit and the filter. The age is
 * measured on the coordinator's clock (`now`), the one that stamped each build's creation.
 */
export function listBuildsQuery(req: ListBuildsRequest, now: number): { limit: number; filter: ListBuildsFilter } {
  const states = req.states.map((s) => buildStateFromWire(s) ?? badState(s));
  if (req.limit > MAX_LIST_LIMIT) throw new InvalidInputError('limit', `${req.limit} is over ${MAX_LIST_LIMIT}, the most builds one list returns`);
  if (req.createdWithinMs < 0) throw new InvalidInputError('created_within_ms', `${req.createdWithinMs} is negative`);
  const filter: ListBuildsFilter = {
    ...(req.schedule ? { schedule: req.schedule } : {}),
    ...(states.length > 0 ? { states } : {}),
    ...(req.createdWithinMs > 0 ? { createdSince: now - req.createdWithinMs } : {}),
  };
  return { limit: req.limit || DEFAULT_LIST_LIMIT, filter };
}

function badState(s: number): never {
  throw new InvalidInputError('states', `${s} is not a build state this coordinator knows`);
}
