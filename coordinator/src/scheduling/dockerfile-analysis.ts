import { MAX_DOCKERFILE_ANALYSIS_BYTES } from '../security/limits';

/**
 * How much of a Dockerfile runs on the builder's own CPU. A stage `FROM
 * --platform=$BUILDPLATFORM` runs natively on every agent, even one emulating the target,
 * so a Dockerfile whose heavy stages do that (cross-compiling Go, Rust, C) costs an emulating
 * agent little, and placement may use one.
 *
 * Written by hand: the Dockerfile parsers on npm either pull in a large toolchain or
 * predate heredocs and parser directives, and this needs only FROM and RUN. It reads
 * roughly and never throws: odd input yields counts, not errors.
 */
export interface DockerfileAnalysis {
  /** Enough of the work runs on the build platform that emulation is cheap. */
  crossCompile: boolean;
  /** RUN instructions in stages on the builder's platform. */
  buildPlatformRuns: number;
  /** RUN instructions in stages on the target platform (emulated on a foreign agent). */
  targetRuns: number;
  /** Why the Dockerfile was not analysed (over MAX_DOCKERFILE_ANALYSIS_BYTES); unset when it was. */
  notAnalysed?: string;
}

export interface Instruction {
  keyword: string;
  args: string;
}

// Heredoc openers (<<EOF, <<-EOF, <<"EOF"), but not the shell's here-string <<<.
const HEREDOC = /(?<!<)<<(?!<)(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;
const BUILD_PLATFORM = /^\$\{?BUILDPLATFORM\}?$|^\$\{?BUILDOS\}?\/\$\{?BUILDARCH\}?/;

export function analyzeDockerfile(text: string): DockerfileAnalysis {
  const bytes = Buffer.byteLength(String(text));
  if (bytes > MAX_DOCKERFILE_ANALYSIS_BYTES) {
    const notAnalysed = `Dockerfile not analysed: over the ${MAX_DOCKERFILE_ANALYSIS_BYTES / 1024} KiB read for placement, so counted as not cross-compiling`;
    return { crossCompile: false, buildPlatformRuns: 0, targetRuns: 0, notAnalysed };
  }
  let buildPlatformRuns = 0;
  let targetRuns = 0;
  let current: boolean | undefined; // whether the current stage runs on the build platform
  const stages = new Map<string, boolean>();
  for (const { keyword, args } of instructions(String(text))) {
    if (keyword === 'FROM') {
      current = stageOnBuildPlatform(args, stages);
    } else if (keyword === 'RUN' && current !== undefined) {
      if (current) buildPlatformRuns++;
      else targetRuns++;
    }
  }
  return { crossCompile: buildPlatformRuns > 0 && buildPlatformRuns >= targetRuns, buildPlatformRuns, targetRuns };
}

/**
 * Whether a stage runs on the build platform: its own --platform says so, or, without one,
 * it starts from an earlier stage that does (BuildKit carries the platform over).
 */
function stageOnBuildPlatform(args: string, stages: Map<string, boolean>): boolean {
  const words = args.split(/\s+/).filter(Boolean);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  const platform = flags.find((f) => f.toLowerCase().startsWith('--platform='));
  const image = (rest[0] ?? '').toLowerCase();
  const onBuild = platform ? BUILD_PLATFORM.test(platform.slice('--platform='.length).replace(/["']/g, '')) : (stages.get(image) ?? false);
  if (rest.length >= 3 && rest[1]?.toLowerCase() === 'as') stages.set(rest[2]!.toLowerCase(), onBuild);
  return onBuild;
}

/**
 * Logical instructions: continuations joined, comments and heredoc bodies dropped (also read by ../base-images).
 * Linear in the text: each line is looked at once and a continued instruction is joined once
 * at its end. (Joining as it went, and re-trimming the joined string per line, was quadratic:
 * a 1 MiB file of `a \` lines held the coordinator's event loop for ~110 s.)
 */
export function* instructions(text: string): Generator<Instruction> {
  const lines = text.split(/\r?\n/);
  const escape = escapeChar(lines);
  let i = 0;
  while (i < lines.length) {
    const line = lines[i++]!;
    if (isBlankOrComment(line)) continue;
    const parts: string[] = [];
    let tail = line; // the instruction's last line so far, not yet in parts
    let continued = endsWithEscape(tail, escape); // once per line: blank lines do not re-trim the tail
    while (continued && i < lines.length) {
      const next = lines[i++]!;
      // Docker drops comment and blank lines inside a continued instruction and goes on.
      if (isBlankOrComment(next)) continue;
      parts.push(tail.trimEnd().slice(0, -1));
      tail = next;
      continued = endsWithEscape(tail, escape);
    }
    parts.push(tail);
    const joined = parts.join(' ');
    const match = /^\s*(\S+)\s*(.*)$/s.exec(joined);
    if (!match) continue;
    const keyword = match[1]!.toUpperCase();
    if (keyword === 'RUN' || keyword === 'COPY' || keyword === 'ADD') i = skipHeredocs(match[2]!, lines, i);
    yield { keyword, args: match[2]! };
  }
}

/** Skips the bodies of the instruction's heredocs; returns the index of the line after them. */
function skipHeredocs(args: string, lines: readonly string[], start: number): number {
  let i = start;
  for (const [, dash, , word] of args.matchAll(HEREDOC)) {
    while (i < lines.length) {
      const line = lines[i++]!;
      const body = dash ? line.replace(/^\t+/, '') : line;
      if (body.trim() === word) break;
    }
  }
  return i;
}

/** The `# escape=` parser directive (only before the first instruction or comment), else backslash. */
function escapeChar(lines: readonly string[]): string {
  for (const line of lines) {
    const directive = /^\s*#\s*([a-zA-Z]+)\s*=\s*(\S*)\s*$/.exec(line);
    if (!directive) return '\\';
    if (directive[1]!.toLowerCase() === 'escape' && (directive[2] === '`' || directive[2] === '\\')) return directive[2];
  }
  return '\\';
}

function endsWithEscape(line: string, escape: string): boolean {
  return line.trimEnd().endsWith(escape);
}

function isBlankOrComment(line: string): boolean {
  const trimmed = line.trimStart();
  return trimmed === '' || trimmed.startsWith('#');
}
