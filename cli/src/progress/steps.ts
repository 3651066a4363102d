/*
 * Step n/m and cached steps for the live view, counted from the log lines themselves.
 *
 * Why from text and not a protocol event: the agent already turns BuildKit's status into the
 * lines `docker buildx --progress plain` prints (agent/src/engine/buildkit-progress.ts), and the
 * classic builder and Podman write their own "Step 2/4 :" / "STEP 2/4:" lines; those lines are
 * what the coordinator stores, numbers by byte offset and replays on re-attach. Reading the
 * counters from them works with every agent and coordinator already deployed, for `logs` as
 * much as for `build`, and needs no second record of the same fact in the log store. A step
 * event in proto/archfarm/v1/build.proto would have to be produced on three engine paths and
 * kept in step with the bytes across re-attaches, for a display that may be approximate.
 */

/** What one log line says about steps; undefined for every other line. */
export type StepLine =
  /** A step started: buildx's `#5 [stage 2/4] RUN ...`, or classic `Step 2/4 : RUN ...`. */
  | { type: 'step'; vertex: number | undefined; stage: string; index: number; total: number; name: string }
  /** `#5 CACHED`, or classic ` ---> Using cache` (then it is the current step's). */
  | { type: 'cached'; vertex: number | undefined }
  | { type: 'done'; vertex: number }
  | { type: 'error'; vertex: number };

// The stage part holds no "]": a RUN line may itself contain "[x 1/2]" after the step's own.
const BUILDKIT_STEP = /^#(\d+) \[(?:([^\]]+) )?(\d+)\/(\d+)\] (.*)$/;
const BUILDKIT_CACHED = /^#(\d+) CACHED$/;
const BUILDKIT_DONE = /^#(\d+) DONE \d+(?:\.\d+)?s$/;
const BUILDKIT_ERROR = /^#(\d+) ERROR: /;
// Docker's classic builder says "Step 2/4 : RUN ..."; Podman (buildah) "STEP 2/4: RUN ...".
const CLASSIC_STEP = /^(?:Step (\d+)\/(\d+) :|STEP (\d+)\/(\d+):) ?(.*)$/;
// Docker: " ---> Using cache"; buildah: "--> Using cache 9f2e...".
const CLASSIC_CACHED = /^\s*-{2,3}> Using cache\b/;

/** Classifies one complete log line (no newline). */
export function parseStepLine(line: string): StepLine | undefined {
  let m = BUILDKIT_STEP.exec(line);
  if (m) return { type: 'step', vertex: Number(m[1]), stage: m[2] ?? '', index: Number(m[3]), total: Number(m[4]), name: m[5]! };
  if ((m = BUILDKIT_CACHED.exec(line))) return { type: 'cached', vertex: Number(m[1]) };
  if ((m = BUILDKIT_DONE.exec(line))) return { type: 'done', vertex: Number(m[1]) };
  if ((m = BUILDKIT_ERROR.exec(line))) return { type: 'error', vertex: Number(m[1]) };
  if ((m = CLASSIC_STEP.exec(line))) return { type: 'step', vertex: undefined, stage: '', index: Number(m[1] ?? m[3]), total: Number(m[2] ?? m[4]), name: m[5]! };
  if (CLASSIC_CACHED.test(line)) return { type: 'cached', vertex: undefined };
  return undefined;
}

export type StepState = 'running' | 'done' | 'cached' | 'failed';

/** One attempt's steps so far. Immutable: {@link countStep} returns a new value. */
export interface StepCount {
  /** Per stage ('' for an unnamed one), its number of steps: the m of its k/m. */
  readonly totals: ReadonlyMap<string, number>;
  /** Per step (stage and k), its state and name. */
  readonly steps: ReadonlyMap<string, { readonly state: StepState; readonly name: string }>;
  /** BuildKit's #N of each step, so `#N CACHED` finds it. */
  readonly vertexes: ReadonlyMap<number, string>;
  /** The step that started last. */
  readonly current: string | undefined;
}

export const NO_STEPS: StepCount = { totals: new Map(), steps: new Map(), vertexes: new Map(), current: undefined };

/** The count after one more line (the same value when the line says nothing about steps). */
export function countStep(count: StepCount, line: StepLine | undefined): StepCount {
  if (!line) return count;
  if (line.type === 'step') {
    const key = `${line.stage}\u0000${line.index}`;
    const vertexes = line.vertex === undefined ? count.vertexes : new Map(count.vertexes).set(line.vertex, key);
    const known = count.steps.get(key);
    // A header BuildKit repeats (the step runs again after a cache check) keeps what it knew.
    const steps = new Map(count.steps).set(key, { state: known?.state === 'cached' ? 'cached' : 'running', name: line.name });
    return { totals: new Map(count.totals).set(line.stage, line.total), steps, vertexes, current: key };
  }
  const key = line.vertex === undefined ? count.current : count.vertexes.get(line.vertex);
  const step = key === undefined ? undefined : count.steps.get(key);
  if (key === undefined || step === undefined) return count;
  const state: StepState = line.type === 'cached' ? 'cached' : line.type === 'done' ? 'done' : 'failed';
  return { ...count, steps: new Map(count.steps).set(key, { ...step, state }) };
}

/** What the live line shows: "step 2/4", "1 cached", the current step's name. */
export interface StepView {
  /** Steps started so far (running or ended). */
  started: number;
  /** Sum of the m of every stage seen; a stage the target needs shows up when its first step starts. */
  total: number;
  cached: number;
  /** The name of the step that started last ('' before any). */
  current: string;
  /** The name of the step that failed, if one did. */
  failed: string | undefined;
}

export function stepView(count: StepCount): StepView {
  let total = 0;
  for (const m of count.totals.values()) total += m;
  let cached = 0;
  let failed: string | undefined;
  for (const step of count.steps.values()) {
    if (step.state === 'cached') cached += 1;
    if (step.state === 'failed') failed = step.name;
  }
  const current = count.current === undefined ? '' : (count.steps.get(count.current)?.name ?? '');
  return { started: count.steps.size, total, cached, current, failed };
}

/** BuildKit's #N of the step that failed, to pick its lines out of a log tail. */
export function failedVertex(count: StepCount): number | undefined {
  for (const [vertex, key] of count.vertexes) if (count.steps.get(key)?.state === 'failed') return vertex;
  return undefined;
}
