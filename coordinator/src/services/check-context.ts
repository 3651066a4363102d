import { InvalidInputError } from '@archfarm/common';
import type { BuildSpec } from '../builds/build';
import type { ContextStore } from '../context-store';
import { ContextNotFoundError } from '../errors';

/** The context is stored and holds the Dockerfile; the message says where it looked. */
export async function checkContext(contexts: ContextStore, spec: BuildSpec): Promise<void> {
  if (!(await contexts.has(spec.contextDigest))) throw new ContextNotFoundError(spec.contextDigest);
  if (!(await contexts.readFile(spec.contextDigest, spec.dockerfile, 1))) {
    const where = spec.git ? `the repository's ${spec.git.subdir || 'root'} at ${spec.git.commit.slice(0, 12)} has` : 'the context has';
    throw new InvalidInputError('file', `${where} no ${spec.dockerfile}; give -f with a path inside the context`);
  }
}
