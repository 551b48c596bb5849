// Telling a live process from another that was later given the same pid:
// its start time (field 22 of /proc/PID/stat, clock ticks since boot) and
// the boot it runs in (/proc/sys/kernel/random/boot_id, new at each boot).
// Used by the store's writer lock, which outlives a holder killed with -9
// or a machine that lost power.
import fs from 'node:fs';

/** When a live process started (clock ticks since boot, as text), or
 * undefined when it is gone, a zombie, or /proc cannot say (not Linux,
 * /proc mounted with hidepid). */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields
    // are counted from the last ')'. f[0] is field 3 (state), f[19] field 22.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return f[0] === 'Z' || f[0] === 'X' ? undefined : f[19];
  } catch {
    return undefined;
  }
}

let boot: string | null | undefined;
/** This boot of the machine, or undefined where the kernel does not say. */
export function bootId(): string | undefined {
  if (boot === undefined) {
    try { boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null; } catch { boot = null; }
  }
  return boot ?? undefined;
}
