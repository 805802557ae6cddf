/** CPU and memory of processes and of the machine, from Linux's /proc (for the benchmarks' figures). */
import fs from 'node:fs';

const TICK = 100; // USER_HZ: /proc's CPU times are in 1/100 s

/** CPU seconds (user + system) a process has used; 0 when it is gone. */
export function cpuOf(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return 0;
  }
}

/** CPU seconds of all processes whose command name starts with `prefix` (e.g. every PostgreSQL backend). */
export function cpuOfCommand(prefix: string): number {
  let sum = 0;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith(prefix)) sum += cpuOf(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

/** CPU seconds the whole machine (all cores) was not idle. */
export function machineBusySeconds(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + f[4]!;
  return (f.reduce((a, b) => a + b, 0) - idle) / TICK;
}

/** Resident set size of a process in bytes; 0 when it is gone. */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
