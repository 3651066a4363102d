import { baseImage, makeContext } from './context';

/**
 * A Dockerfile whose RUN step prints `<marker>-n1` ... `<marker>-n<count>`, one line every
 * `intervalS` seconds. The step's own name line shows `-n$i`, never a number.
 */
export function numberedContext(marker: string, count: number, intervalS: number): Promise<string> {
  const run = `i=1; while [ $i -le ${count} ]; do echo ${marker}-n$i; i=$((i+1)); sleep ${intervalS}; done`;
  return makeContext({ Dockerfile: `FROM ${baseImage()}\nRUN ${run}\n` });
}

/**
 * How often each number appears per platform in `text`, whose lines start with
 * `[<platform>` (`build`'s progress `[linux/arm64 agent mode] `, `logs`' `[linux/arm64] `).
 */
export function numbersPerPlatform(text: string, marker: string): Map<string, Map<number, number>> {
  const seen = new Map<string, Map<number, number>>();
  const line = new RegExp(`^\\[(\\S+?)[ \\]].*\\b${marker}-n(\\d+)\\s*$`);
  for (const l of text.split('\n')) {
    const m = line.exec(l);
    if (!m) continue;
    const counts = seen.get(m[1]!) ?? new Map<number, number>();
    counts.set(Number(m[2]), (counts.get(Number(m[2])) ?? 0) + 1);
    seen.set(m[1]!, counts);
  }
  return seen;
}

/** The numbers 1..count that do not appear exactly once (empty when each does). */
export function notOnce(counts: Map<number, number> | undefined, count: number): string[] {
  const wrong: string[] = [];
  for (let n = 1; n <= count; n++) {
    const times = counts?.get(n) ?? 0;
    if (times !== 1) wrong.push(`${n}x${times}`);
  }
  for (const n of counts?.keys() ?? []) if (n < 1 || n > count) wrong.push(`${n}?`);
  return wrong;
}
