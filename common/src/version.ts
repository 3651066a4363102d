import { ProtocolMismatchError } from './errors';

/**
 * The release of every archfarm program: coordinator, agent and CLI ship together. This is
 * the one home of the number; the workspace package.json files repeat it for npm, and
 * version.test.ts fails when one of them differs.
 */
export const ARCHFARM_VERSION = '0.1.0';

/**
 * The wire protocol this release speaks. Raise it when a change would break a peer of the
 * previous release (a removed or renumbered field or RPC, a changed meaning); additive
 * changes (a new field, a new RPC) keep it.
 */
export const PROTOCOL_VERSION = 1;

/**
 * What a peer older than versioning speaks: it sends no protocol (a proto3 0). That is the
 * 0.1.0 wire before these fields, which this release still serves.
 */
export const UNVERSIONED_PROTOCOL = 0;

/** Inclusive bounds on a peer's protocol. */
export interface ProtocolRange {
  readonly min: number;
  readonly max: number;
}

/**
 * The peers' protocols this release works with, both ways: the coordinator with CLIs and
 * agents, the CLI and the agent with a coordinator. Accepting UNVERSIONED_PROTOCOL keeps the
 * CLIs and agents already deployed working: the wire has only grown since them.
 */
export const ACCEPTED_PROTOCOLS: ProtocolRange = { min: UNVERSIONED_PROTOCOL, max: PROTOCOL_VERSION };

/** The programs that call a coordinator, as they name themselves in {@link VERSION_HEADERS}. */
export type CallerProgram = 'cli' | 'agent' | 'bench';

/** Metadata every CLI, agent and bench call carries; the coordinator checks the protocol. */
export const VERSION_HEADERS = {
  program: 'archfarm-program',
  version: 'archfarm-version',
  protocol: 'archfarm-protocol',
} as const;

/** This release's {@link VERSION_HEADERS} for `program`. */
export function versionHeaders(program: CallerProgram): Record<string, string> {
  return {
    [VERSION_HEADERS.program]: program,
    [VERSION_HEADERS.version]: ARCHFARM_VERSION,
    [VERSION_HEADERS.protocol]: String(PROTOCOL_VERSION),
  };
}

/** One side of a protocol check, named as a person reads it in the error. */
export interface ProtocolSide {
  /** "archfarm CLI 0.1.0", "this coordinator (0.1.0)". */
  readonly name: string;
  /** NaN when the peer sent something that is not a protocol number. */
  readonly protocol: number;
  /** What this side accepts of the other; unknown for a caller (it does not say). */
  readonly accepts?: ProtocolRange;
  /** Who to upgrade when this side is the older one: "the CLI". */
  readonly upgrade: string;
}

/**
 * Whether two programs can talk: each side's protocol must be within what the other accepts
 * (where it says). Pure; the error names both sides and which one to upgrade.
 */
export function protocolMismatch(a: ProtocolSide, b: ProtocolSide): ProtocolMismatchError | undefined {
  return outside(a, b) ?? outside(b, a);
}

function outside(speaker: ProtocolSide, judge: ProtocolSide): ProtocolMismatchError | undefined {
  const range = judge.accepts;
  if (range === undefined || (speaker.protocol >= range.min && speaker.protocol <= range.max)) return undefined;
  const spoken = Number.isInteger(speaker.protocol) ? `speaks protocol ${speaker.protocol}` : 'sent a protocol that is not a number';
  const older = speaker.protocol < range.min;
  const message = `${speaker.name} ${spoken}; ${judge.name} accepts ${formatRange(range)}: upgrade ${older ? speaker.upgrade : judge.upgrade}`;
  return new ProtocolMismatchError(message, { protocol: speaker.protocol, accepted: range });
}

/** "protocol 1", "protocols 0..1". */
export function formatRange(range: ProtocolRange): string {
  return range.min === range.max ? `protocol ${range.min}` : `protocols ${range.min}..${range.max}`;
}

/**
 * A protocol as a peer sent it: absent or empty is {@link UNVERSIONED_PROTOCOL}; anything
 * but a decimal integer is NaN, which no range accepts.
 */
export function parseProtocol(value: string | undefined): number {
  if (value === undefined || value === '') return UNVERSIONED_PROTOCOL;
  return /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
}

/** "archfarm CLI 0.1.0", or "archfarm CLI (older than versioning)" for a peer that sent none. */
export function programName(program: string, version: string | undefined): string {
  const label = program === 'cli' ? 'CLI' : program;
  return `archfarm ${label} ${version ? version : '(older than versioning)'}`;
}
