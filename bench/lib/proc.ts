// Per-process accounting for the benchmarks, read from Linux /proc: CPU time, memory, child processes
// (vpsdns's DNS workers), and waiting until a server has finished its start-up work.
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/PID/stat. */
export const TICKS_PER_SECOND = 100;

/** The direct children of a process (of any of its threads); empty once it is gone. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const kids = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (kids) out.push(...kids.split(' ').map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

/** A process and all its descendants. */
export function descendants(pid: number): number[] {
  return [pid, ...childPids(pid).flatMap(descendants)];
}

/** CPU time (user + system, in ticks) used so far by these processes, all their threads included. */
export function cpuTicks(pids: number[]): number {
  let t = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      t += Number(f[11]) + Number(f[12]); // utime, stime
    } catch {
      // gone
    }
  }
  return t;
}

/** Resident memory in KiB of these processes together: now (VmRSS) or each one's peak so far (VmHWM). */
export function rssKb(pids: number[], field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      // gone
    }
  }
  return kb;
}

/**
 * Wait (at most `maxMs`) until a server and its children are idle (under 5% of one core over a second):
 * start-up work that goes on after the listeners are up (the zone-file writer renders every zone in the
 * primary) would otherwise share the cores with what is being measured. Returns the seconds waited.
 */
export async function settle(pid: number, maxMs = 300_000): Promise<number> {
  const t0 = performance.now();
  const pids = descendants(pid);
  let last = cpuTicks(pids);
  while (performance.now() - t0 < maxMs) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = cpuTicks(pids);
    if (now - last < TICKS_PER_SECOND / 20) break;
    last = now;
  }
  return (performance.now() - t0) / 1000;
}
