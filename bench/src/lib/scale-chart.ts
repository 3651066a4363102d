import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { trailingMean } from './stats';

/** Seconds each plotted placement rate averages: one pass places a burst, then the jobs sleep, so per-second counts swing between 0 and the window. */
const SMOOTH_S = 5;

/** What the chart needs of one scale run (bench/results/scale.json, data.runs[]). */
export interface ChartRun {
  agents: number;
  placementsSeries: number[];
  rssSeries: Array<{ t: number; rssMiB: number; cores: number }>;
}

/**
 * Renders the scale run as a PNG with gnuplot (Debian's gnuplot-nox, installed by
 * bench/setup.sh): placements per second over time (a trailing mean) for each agent count, and the
 * coordinator's RSS on the right axis.
 */
export async function renderScaleChart(runs: ChartRun[], png: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'archfarm-bench-chart-'));
  try {
    const plots: string[] = [];
    for (const run of runs) {
      const placements = join(dir, `placements-${run.agents}.dat`);
      const rss = join(dir, `rss-${run.agents}.dat`);
      await writeFile(placements, trailingMean(run.placementsSeries, SMOOTH_S).map((n, i) => `${i + 0.5} ${n.toFixed(1)}`).join('\n') + '\n');
      await writeFile(rss, run.rssSeries.map((s) => `${s.t} ${s.rssMiB.toFixed(1)}`).join('\n') + '\n');
      plots.push(`'${placements}' using 1:2 with lines lw 2 title 'placements/s (${SMOOTH_S} s trailing mean), ${run.agents} agents'`);
      plots.push(`'${rss}' using 1:2 axes x1y2 with lines dt 2 lw 2 title 'coordinator RSS (MiB), ${run.agents} agents'`);
    }
    const script = [
      `set terminal pngcairo size 1100,550 font 'sans,10'`,
      `set output '${png}'`,
      `set title 'archfarm scale: one coordinator, simulated agents (real gRPC/mTLS protocol, build = timed sleep)'`,
      `set xlabel 'seconds into the job phase'`,
      `set ylabel 'jobs placed per second'`,
      `set y2label 'coordinator RSS (MiB)'`,
      'set ytics nomirror',
      'set y2tics',
      'set yrange [0:*]',
      'set y2range [0:*]',
      'set key outside bottom center horizontal',
      'set grid',
      `plot ${plots.join(', \\\n  ')}`,
      '',
    ].join('\n');
    const file = join(dir, 'scale.gp');
    await writeFile(file, script);
    await promisify(execFile)('gnuplot', [file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
