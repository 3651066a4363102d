import { readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ is 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** Resident set size of a process in bytes (VmRSS), or 0 when it is gone. */
export function rssBytes(pid: number): number {
  return statusField(pid, 'VmRSS');
}

/** Peak resident set size (VmHWM) in bytes, or 0 when it is gone. */
export function peakRssBytes(pid: number): number {
  return statusField(pid, 'VmHWM');
}

/** CPU time (user + system) a process has used so far, in ms. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function statusField(pid: number, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples a process's RSS and CPU every `intervalMs`: peak and mean RSS, CPU used as cores. */
export class ProcessSampler {
  private readonly timer: NodeJS.Timeout;
  private readonly startCpu: number;
  private readonly startAt = Date.now();
  private peak = 0;
  private sum = 0;
  private count = 0;
  readonly series: Array<{ t: number; rss: number; cpuMs: number }> = [];

  constructor(
    private readonly pid: number,
    intervalMs = 250,
  ) {
    this.startCpu = cpuMs(pid);
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    this.sample();
  }

  private sample(): void {
    const rss = rssBytes(this.pid);
    if (rss === 0) return;
    this.peak = Math.max(this.peak, rss);
    this.sum += rss;
    this.count += 1;
    this.series.push({ t: Date.now() - this.startAt, rss, cpuMs: cpuMs(this.pid) - this.startCpu });
  }

  /** Stops sampling: peak and mean RSS (bytes), CPU ms used and the average cores busy. */
  stop(): { peakRss: number; meanRss: number; cpuMs: number; cores: number; wallMs: number } {
    this.sample();
    clearInterval(this.timer);
    const wallMs = Date.now() - this.startAt;
    const used = cpuMs(this.pid) - this.startCpu;
    return { peakRss: this.peak, meanRss: this.count ? this.sum / this.count : 0, cpuMs: used, cores: wallMs > 0 ? used / wallMs : 0, wallMs };
  }
}
