import { TooManyWatchesError } from '../errors';
import { identityOf } from '../security/authorizer';
import { MAX_WATCHES_PER_TOKEN } from '../security/limits';

/**
 * Open watches (WatchBuild, StreamLogs) per caller: an operator's token, an agent, or
 * (without TLS) everyone at once. One per coordinator's build service.
 */
export class WatchQuota {
  private readonly open = new Map<string, number>();

  constructor(private readonly limit = MAX_WATCHES_PER_TOKEN) {}

  /** Counts a watch for `call`'s caller, or throws TooManyWatchesError; the release to call once it ends. */
  take(call: object): () => void {
    const key = callerKey(call);
    const held = this.open.get(key) ?? 0;
    if (held >= this.limit) throw new TooManyWatchesError(this.limit);
    this.open.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
  }
}

function callerKey(call: object): string {
  const who = identityOf(call);
  if (who.kind === 'operator') return `token:${who.tokenId}`;
  if (who.kind === 'agent') return `agent:${who.name}`;
  return 'anonymous';
}
