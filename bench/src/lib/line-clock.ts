import { readFileSync } from 'node:fs';

/** Seconds since boot as /proc/uptime says it (what a container's `cat /proc/uptime` prints too). */
export function procUptime(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

/**
 * Maps Date.now() to /proc/uptime's clock. /proc/uptime ticks in 10 ms steps; spinning
 * until it changes pins the offset to about a millisecond, so stamps a container prints
 * (from /proc/uptime) compare with host times taken by Date.now().
 */
export function uptimeClock(): (dateMs: number) => number {
  const first = procUptime();
  let now = first;
  let at = Date.now();
  const deadline = at + 1000;
  while (now === first && at < deadline) {
    now = procUptime();
    at = Date.now();
  }
  const offsetMs = at - now * 1000;
  return (dateMs) => (dateMs - offsetMs) / 1000;
}
