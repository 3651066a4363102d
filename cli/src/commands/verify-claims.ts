import type { ProvenanceStatement } from '@archfarm/common';
import type { BaseJson, ContextJson } from './verify-report';

/** What `archfarm verify` shows of a verified statement. */
export interface Claims {
  agent: string;
  mode: string;
  bases: BaseJson[];
  context: ContextJson | null;
}

/**
 * The claims of a statement whose signature verified. parseStatement checks only the
 * statement's frame; the predicate's fields are read here one by one, since a coordinator of
 * another version may leave some out ("" and [] stand for what it did not say).
 */
export function claimsOf(statement: ProvenanceStatement): Claims {
  const definition = record(record(statement.predicate).buildDefinition);
  const archfarm = record(record(definition.internalParameters).archfarm);
  const external = record(definition.externalParameters);
  const deps = Array.isArray(definition.resolvedDependencies) ? (definition.resolvedDependencies as unknown[]) : [];
  return {
    agent: text(record(archfarm.agent).name),
    mode: text(archfarm.mode),
    bases: deps.map((d) => {
      const dep = record(d);
      const hex = text(record(dep.digest).sha256);
      return { uri: text(dep.uri), digest: hex === '' ? '' : `sha256:${hex}`, stage: text(record(dep.annotations).stage) };
    }),
    context: contextOf(record(external.context)),
  };
}

function contextOf(context: Record<string, unknown>): ContextJson | null {
  if (typeof context.digest === 'string') return { digest: context.digest };
  const git = record(context.git);
  if (typeof git.url !== 'string') return null;
  return { git: { url: git.url, ref: text(git.ref), subdir: text(git.subdir), commit: text(git.commit) } };
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
