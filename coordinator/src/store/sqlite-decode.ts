import { StoreDataError } from './errors';
import type { JobMode } from './store';

/* Column helpers shared by the row mappers. */

export const MODES: readonly JobMode[] = ['native', 'emulated'];

export function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

export function parse<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new StoreDataError(what, 'malformed JSON column', { cause: err });
  }
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new StoreDataError(what, `unknown value "${value}" (expected one of ${allowed.join(', ')})`);
}

/** NULL columns become absent fields, as records have them. */
type NullsDropped<T> = { [K in keyof T as null extends T[K] ? K : never]?: Exclude<T[K], null> } & {
  [K in keyof T as null extends T[K] ? never : K]: T[K];
};

export function dropNulls<T extends object>(o: T): NullsDropped<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null)) as NullsDropped<T>;
}
