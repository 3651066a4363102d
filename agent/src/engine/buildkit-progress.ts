import type { buildkit } from '@archfarm/proto';

type Timestamp = { seconds: number; nanos: number };

interface VertexState {
  /** #N, in order of first appearance. */
  index: number;
  name: string;
  startedMs: number | undefined;
  headerShown: boolean;
  doneShown: boolean;
  /** Unfinished log text per stream (1 stdout, 2 stderr), waiting for its newline. */
  partial: Map<number, { text: string; atMs: number }>;
}

/** Longest log text held while waiting for a newline; beyond it the text goes out as a line. */
const MAX_PARTIAL = 16 * 1024;

/**
 * Turns BuildKit StatusResponse messages into the plain lines `docker buildx --progress plain`
 * prints, so a build log reads the same whichever engine ran it:
 *
 *     #5 [2/3] RUN uname -m
 *     #5 0.213 aarch64
 *     #5 DONE 0.4s
 *
 * Vertexes are numbered in order of first appearance; `[internal]` ones are kept, as buildx
 * does. Transfer progress is shown once, when it completes, so a pull does not flood the log.
 */
export class BuildkitProgress {
  private readonly vertexes = new Map<string, VertexState>();
  private readonly doneStatuses = new Set<string>();

  constructor(private readonly emit: (line: string) => void) {}

  /** Renders one decoded StatusResponse. */
  write(status: buildkit.StatusResponse): void {
    const completed: Array<{ state: VertexState; vertex: buildkit.Vertex }> = [];
    for (const vertex of status.vertexes) {
      const state = this.update(vertex);
      if (vertex.completed !== undefined || vertex.error !== '') completed.push({ state, vertex });
    }
    for (const s of status.statuses) this.status(s);
    for (const log of status.logs) this.log(log);
    for (const w of status.warnings) this.warning(w);
    // Completions last, so a step's own output comes before its DONE or ERROR line.
    for (const { state, vertex } of completed) this.complete(state, vertex);
  }

  /** Flushes log text still waiting for a newline (call when the build stream ends). */
  end(): void {
    for (const state of this.vertexes.values()) this.flush(state);
  }

  private update(vertex: buildkit.Vertex): VertexState {
    let state = this.vertexes.get(vertex.digest);
    if (state === undefined) {
      const index = this.vertexes.size + 1;
      state = { index, name: vertex.name, startedMs: undefined, headerShown: false, doneShown: false, partial: new Map() };
      this.vertexes.set(vertex.digest, state);
    }
    if (vertex.started !== undefined) {
      const startedMs = toMs(vertex.started);
      // BuildKit may run a vertex again (e.g. after its cache was checked): show it anew.
      if (state.doneShown && vertex.completed === undefined) {
        state.doneShown = false;
        state.headerShown = false;
      }
      state.startedMs = startedMs;
    }
    if (vertex.started !== undefined || vertex.cached || vertex.completed !== undefined) this.header(state);
    return state;
  }

  private header(state: VertexState): void {
    if (state.headerShown) return;
    state.headerShown = true;
    this.emit(`#${state.index} ${state.name}`);
  }

  private complete(state: VertexState, vertex: buildkit.Vertex): void {
    if (state.doneShown) return;
    this.flush(state);
    this.header(state);
    state.doneShown = true;
    if (vertex.error !== '') {
      this.emit(`#${state.index} ERROR: ${vertex.error}`);
    } else if (vertex.cached) {
      this.emit(`#${state.index} CACHED`);
    } else {
      const ms = vertex.completed && state.startedMs !== undefined ? toMs(vertex.completed) - state.startedMs : 0;
      this.emit(`#${state.index} DONE ${(Math.max(ms, 0) / 1000).toFixed(1)}s`);
    }
  }

  private status(s: buildkit.VertexStatus): void {
    const state = this.vertexes.get(s.vertex);
    const key = `${s.vertex} ${s.ID}`;
    if (state === undefined || s.completed === undefined || this.doneStatuses.has(key)) return;
    this.doneStatuses.add(key);
    this.header(state);
    const size = s.total > 0 ? ` ${formatBytes(s.current)} / ${formatBytes(s.total)}` : s.current > 0 ? ` ${formatBytes(s.current)}` : '';
    this.emit(`#${state.index} ${s.name || s.ID}${size} done`);
  }

  private log(log: buildkit.VertexLog): void {
    const state = this.vertexes.get(log.vertex);
    if (state === undefined) return;
    this.header(state);
    const atMs = log.timestamp ? toMs(log.timestamp) : (state.startedMs ?? 0);
    const held = state.partial.get(log.stream);
    const text = (held?.text ?? '') + Buffer.from(log.msg).toString('utf8');
    const lines = text.split('\n');
    const rest = lines.pop() ?? '';
    // A line is stamped with the time its first bytes came; only the first may be older than this message.
    const restAt = lines.length > 0 ? atMs : (held?.atMs ?? atMs);
    lines.forEach((line, i) => this.logLine(state, line, i === 0 ? (held?.atMs ?? atMs) : atMs));
    if (rest.length > MAX_PARTIAL) {
      this.logLine(state, rest, restAt);
      state.partial.delete(log.stream);
    } else if (rest !== '') {
      state.partial.set(log.stream, { text: rest, atMs: restAt });
    } else {
      state.partial.delete(log.stream);
    }
  }

  private flush(state: VertexState): void {
    for (const { text, atMs } of state.partial.values()) this.logLine(state, text, atMs);
    state.partial.clear();
  }

  private logLine(state: VertexState, raw: string, atMs: number): void {
    // A carriage return redraws a terminal line (progress bars): keep what was drawn last.
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const shown = line.slice(line.lastIndexOf('\r') + 1);
    const offset = state.startedMs === undefined ? 0 : Math.max(atMs - state.startedMs, 0) / 1000;
    this.emit(`#${state.index} ${offset.toFixed(3)} ${shown}`);
  }

  private warning(w: buildkit.VertexWarning): void {
    const state = this.vertexes.get(w.vertex);
    const prefix = state === undefined ? '#0' : `#${state.index}`;
    if (state !== undefined) this.header(state);
    this.emit(`${prefix} WARN: ${Buffer.from(w.short).toString('utf8')}`);
    for (const detail of w.detail) this.emit(`${prefix} ${Buffer.from(detail).toString('utf8')}`);
  }
}

function toMs(t: Timestamp): number {
  return t.seconds * 1000 + t.nanos / 1e6;
}

function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value}B` : `${value.toFixed(2)}${units[unit]}`;
}
