import { BuildMode, JobState, type BuildEvent, type BuildFinished, type ModeName } from '@archfarm/proto';
import { formatTable } from '../table';
import { buildStateName, modeName } from './format';
import { countStep, failedVertex, NO_STEPS, parseStepLine, stepView, type StepCount } from './steps';
import { terminalSafe } from './terminal-safe';

/*
 * The live view of `build --progress tty` as data: what each platform is doing, and the
 * lines that show it. Pure: the renderer (./tty) feeds events in and prints what comes out.
 */

export type Phase = 'queued' | 'waiting' | 'assigned' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface PlatformLive {
  readonly platform: string;
  readonly phase: Phase;
  /** '' while no agent is known. */
  readonly agent: string;
  readonly mode: ModeName | '';
  /** Why it waits (phase 'waiting'), or why it failed (phase 'failed'). */
  readonly reason: string;
  /** The coordinator's clock: when the current attempt started running, and ended. */
  readonly startedMs: number | undefined;
  readonly endedMs: number | undefined;
  readonly attempt: number;
  readonly steps: StepCount;
  readonly digest: string;
}

export interface LiveState {
  readonly platforms: readonly PlatformLive[];
  /**
   * This clock minus the coordinator's, as small as any event showed it (receipt time minus
   * event time; replayed events only make it larger): elapsed times count on the
   * coordinator's clock, so a skewed laptop clock does not distort them.
   */
  readonly skewMs: number | undefined;
  readonly finished: BuildFinished | undefined;
  /** Shown under the platforms: "cancel the build or detach? [c/d]". */
  readonly question: string | undefined;
}

export function initialLive(platforms: readonly string[]): LiveState {
  return { platforms: platforms.map((p) => fresh(p, 0)), skewMs: undefined, finished: undefined, question: undefined };
}

function fresh(platform: string, attempt: number): PlatformLive {
  return { platform, phase: 'queued', agent: '', mode: '', reason: '', startedMs: undefined, endedMs: undefined, attempt, steps: NO_STEPS, digest: '' };
}

const PHASES: ReadonlyMap<JobState, Phase> = new Map([
  [JobState.JOB_STATE_QUEUED, 'queued'],
  [JobState.JOB_STATE_ASSIGNED, 'assigned'],
  [JobState.JOB_STATE_RUNNING, 'running'],
  [JobState.JOB_STATE_SUCCEEDED, 'succeeded'],
  [JobState.JOB_STATE_FAILED, 'failed'],
  [JobState.JOB_STATE_CANCELLED, 'cancelled'],
]);

/** The state after one event, received at `receivedAtMs` on this machine's clock. */
export function liveEvent(state: LiveState, event: BuildEvent, receivedAtMs: number): LiveState {
  const skew = event.timeMs > 0 ? receivedAtMs - event.timeMs : undefined;
  const next = skew === undefined || (state.skewMs !== undefined && state.skewMs <= skew) ? state : { ...state, skewMs: skew };
  const e = event.event;
  switch (e?.$case) {
    case 'job': {
      const phase = PHASES.get(e.value.state);
      if (!phase) return next;
      const { agent, mode, digest, error } = e.value;
      return update(next, e.value.platform, (p) => {
        // A job queued or assigned again is a new attempt coming: its steps start over.
        const base = phase === 'queued' || phase === 'assigned' ? { ...p, steps: NO_STEPS, startedMs: undefined, endedMs: undefined, digest: '' } : p;
        const who = agent ? { agent, mode: modeOf(mode) } : {};
        const times = phase === 'running' ? { startedMs: event.timeMs, endedMs: undefined } : phase === 'succeeded' || phase === 'failed' || phase === 'cancelled' ? { endedMs: event.timeMs } : {};
        return { ...base, ...who, ...times, phase, reason: error?.message ?? '', digest: digest || base.digest };
      });
    }
    case 'waiting':
      return update(next, e.value.platform, (p) => ({ ...p, phase: 'waiting', reason: e.value.reason }));
    case 'log': {
      const { platform, attempt, agent, mode } = e.value;
      return update(next, platform, (p) => {
        const base = p.attempt !== 0 && p.attempt !== attempt ? { ...fresh(platform, attempt), phase: p.phase, startedMs: p.startedMs } : { ...p, attempt };
        return agent ? { ...base, agent, mode: modeOf(mode) } : base;
      });
    }
    case 'finished':
      return { ...next, finished: e.value, question: undefined };
    default:
      return next;
  }
}

/** The state after complete log lines of a platform. */
export function liveLines(state: LiveState, platform: string, lines: readonly string[]): LiveState {
  return update(state, platform, (p) => ({ ...p, steps: lines.reduce((count, line) => countStep(count, parseStepLine(line)), p.steps) }));
}

export function withQuestion(state: LiveState, question: string | undefined): LiveState {
  return { ...state, question };
}

function update(state: LiveState, platform: string, change: (p: PlatformLive) => PlatformLive): LiveState {
  const known = state.platforms.some((p) => p.platform === platform);
  // A platform the submit did not name (a newer coordinator adding one) still gets a line.
  const platforms = known ? state.platforms : [...state.platforms, fresh(platform, 0)];
  return { ...state, platforms: platforms.map((p) => (p.platform === platform ? change(p) : p)) };
}

function modeOf(mode: BuildMode): ModeName | '' {
  return mode === BuildMode.BUILD_MODE_UNSPECIFIED ? '' : modeName(mode);
}

/**
 * The live lines: one per platform, columns aligned, then the question if any, each cut to
 * the terminal's width (a line that wrapped would take two rows and break the redraw), and
 * no more rows than the terminal has less one (the cursor cannot move up past its top row):
 * platforms beyond that are counted on a last line.
 */
export function liveFrame(state: LiveState, nowMs: number, columns: number, rows = Infinity): string[] {
  const now = nowMs - (state.skewMs ?? 0);
  // Neutralised before padding, so an escape shown as \xNN still lines up.
  const cells = state.platforms.map((p) => [p.platform, p.agent || '-', p.mode].map(terminalSafe));
  const widths = [0, 1, 2].map((col) => Math.max(...cells.map((c) => c[col]!.length)));
  const lines = state.platforms.map((p, i) => {
    const head = cells[i]!.map((cell, col) => cell.padEnd(widths[col]!)).join('  ');
    return fit(`${head}  ${status(p, now)}`, columns);
  });
  const question = state.question === undefined ? [] : [fit(state.question, columns)];
  const room = Math.max(rows - 1 - question.length, 1);
  if (lines.length <= room) return [...lines, ...question];
  const shown = lines.slice(0, room - 1);
  return [...shown, fit(`… and ${lines.length - shown.length} more platforms`, columns), ...question];
}

/** "step 2/4  1 cached  12.3s  RUN make", "waiting: no agent", "done  step 4/4  14.2s". */
export function status(p: PlatformLive, nowMs: number): string {
  const view = stepView(p.steps);
  const steps = view.total > 0 ? [`step ${view.started}/${view.total}`, ...(view.cached > 0 ? [`${view.cached} cached`] : [])] : [];
  const elapsed = p.startedMs === undefined ? [] : [formatDuration((p.endedMs ?? nowMs) - p.startedMs)];
  switch (p.phase) {
    case 'queued':
    case 'assigned':
      return p.phase;
    case 'waiting':
      return `waiting: ${p.reason}`;
    case 'running':
      return [...(steps.length > 0 ? steps : ['starting']), ...elapsed, ...(view.current ? [view.current] : [])].join('  ');
    case 'succeeded':
      return ['done', ...steps, ...elapsed].join('  ');
    case 'failed':
      return ['failed', ...steps, ...elapsed, ...(p.reason ? [p.reason] : [])].join('  ');
    case 'cancelled':
      return ['cancelled', ...steps, ...elapsed].join('  ');
  }
}

/**
 * The table once the build ended: PLATFORM AGENT MODE DURATION DIGEST, then "published TAG".
 * DIGEST is the platform's image, or its outcome when it has none; digests are shortened to
 * 12 hex digits when the full ones would not fit (the index digest is on stdout in full).
 */
export function summaryFrame(state: LiveState, columns: number): string[] {
  const f = state.finished;
  const result = (p: PlatformLive) => f?.platforms.find((r) => r.platform === p.platform);
  const rows = (short: boolean) => [
    ['PLATFORM', 'AGENT', 'MODE', 'DURATION', 'DIGEST'],
    ...state.platforms.map((p) => {
      const r = result(p);
      const digest = r?.digest || p.digest;
      const shown = digest ? (short ? shortDigest(digest) : digest) : f?.leftOut.some((l) => l.platform === p.platform) ? 'left out' : p.phase === 'succeeded' ? 'done' : p.phase;
      const duration = p.startedMs !== undefined && p.endedMs !== undefined ? formatDuration(p.endedMs - p.startedMs) : '-';
      return [p.platform, r?.agent || p.agent || '-', (r ? modeName(r.mode) : p.mode) || '-', duration, shown].map(terminalSafe);
    }),
  ];
  const full = formatTable(rows(false));
  const table = full.some((l) => l.length > columns - 1) ? formatTable(rows(true)) : full;
  const end = f === undefined ? [] : f.tag ? [`${buildStateName(f.state)} ${f.tag}`] : [buildStateName(f.state)];
  return [...table, ...end.map(terminalSafe)].map((l) => fit(l, columns));
}

function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return hex ? `${algorithm}:${hex.slice(0, 12)}` : digest;
}

/** "0.4s", "12.3s", "1m05s", "2h03m". */
export function formatDuration(ms: number): string {
  const s = Math.max(ms, 0) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const whole = Math.floor(s);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The line neutralised (./terminal-safe: names, reasons and step names are others' text) and
 * cut to `columns - 1` characters: writing the last column leaves some terminals waiting to
 * wrap. Counted in code points; a wide (CJK) character may still overrun.
 */
export function fit(line: string, columns: number): string {
  const chars = Array.from(terminalSafe(line));
  const room = Math.max(columns - 1, 1);
  return chars.length <= room ? chars.join('') : `${chars.slice(0, room - 1).join('')}…`;
}

/**
 * When a platform's Dockerfile fails: its failed step's own lines (BuildKit's `#N ` lines of
 * that step) out of its last lines, else all of them, under a header naming the step.
 */
export function failedStepBlock(p: PlatformLive, tail: readonly string[]): string[] {
  const vertex = failedVertex(p.steps);
  const own = vertex === undefined ? [] : tail.filter((l) => l.startsWith(`#${vertex} `));
  const lines = own.length > 0 ? own : tail;
  if (lines.length === 0) return [];
  const step = stepView(p.steps).failed;
  const where = p.agent ? ` (${p.agent}, ${p.mode || '-'})` : '';
  return [`--- ${p.platform} failed${step ? ` at ${step}` : ''}${where} ---`, ...lines, '---'];
}
