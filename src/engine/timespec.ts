// The one syntax for naming a point in time, shared by /.versions/<time>/,
// name@<time>, and every --at / FROM / TO argument of the CLI.
//
//   2026-03-15                    that whole day: the state at its end (local time)
//   2026-03-15T14:22              a minute, local time (also 14:22:05, 14:22:05.123456789)
//   2026-03-15T14:22:05Z          with a zone: Z, +01:00, -0800 ('T' may be a space on the CLI)
//   1773584520                    epoch seconds (9 to 11 digits)
//   1773584520123                 epoch milliseconds (12 to 14 digits)
//   c1234                         commit 1234
//   10s 10m 2h 3d 1w              that long ago
//   now                           the newest state
//
// A date or minute without a zone is local time. Anything else is not a
// time (callers then try a label name, or answer ENOENT).

/** relative: "10m" and the like, an instant that moves with the clock. */
export type TimeSpec = { kind: 'time'; ns: bigint; relative?: true } | { kind: 'commit'; id: number } | { kind: 'now' };

const NS_PER_MS = 1000000n;
const UNITS: Record<string, bigint> = { s: 1n, m: 60n, h: 3600n, d: 86400n, w: 604800n };

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

export function parseTimeSpec(text: string, nowMs: number = Date.now()): TimeSpec | undefined {
  const s = text.trim();
  if (s === 'now') return { kind: 'now' };
  let m = /^c(\d{1,15})$/.exec(s);
  if (m) return { kind: 'commit', id: Number(m[1]) };
  m = /^(\d+)([smhdw])$/.exec(s);
  if (m) return { kind: 'time', ns: (BigInt(nowMs) - BigInt(m[1]) * UNITS[m[2]] * 1000n) * NS_PER_MS, relative: true };
  if (/^\d{9,11}$/.test(s)) return { kind: 'time', ns: BigInt(s) * 1000000000n + 999999999n };
  if (/^\d{12,14}$/.test(s)) return { kind: 'time', ns: BigInt(s) * NS_PER_MS + 999999n };
  m = ISO.exec(s);
  if (!m) return undefined;
  const [, Y, Mo, D, h, mi, sec, frac, zone] = m;
  const year = +Y, month = +Mo, day = +D;
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  if (h !== undefined && (+h > 23 || +mi > 59 || (sec !== undefined && +sec > 60))) return undefined;
  // The instant a form names is the *end* of the span it denotes: a day means
  // its last nanosecond, a minute its last, "…:05.1" the last of that tenth.
  let spanNs: bigint;
  if (h === undefined) spanNs = 86400n * 1000000000n;
  else if (sec === undefined) spanNs = 60n * 1000000000n;
  else if (frac === undefined) spanNs = 1000000000n;
  else spanNs = 10n ** BigInt(9 - frac.length);
  const fracNs = frac ? BigInt(frac.padEnd(9, '0')) : 0n;
  let ms: number;
  if (zone) {
    ms = Date.UTC(year, month - 1, day, +(h ?? 0), +(mi ?? 0), +(sec ?? 0));
    if (zone !== 'Z') {
      const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
      // An offset is at most 23:59 (RFC 3339); "+99:00" is no zone.
      if (+zm[2] > 23 || +(zm[3] ?? 0) > 59) return undefined;
      const off = (+zm[2] * 60 + +(zm[3] ?? 0)) * 60000;
      ms -= zm[1] === '+' ? off : -off;
    }
  } else {
    ms = new Date(year, month - 1, day, +(h ?? 0), +(mi ?? 0), +(sec ?? 0)).getTime();
  }
  const check = zone ? new Date(Date.UTC(year, month - 1, day)) : new Date(year, month - 1, day);
  if (check.getUTCDate() !== day && check.getDate() !== day) return undefined; // 2026-02-31
  if (Number.isNaN(ms)) return undefined;
  return { kind: 'time', ns: BigInt(ms) * NS_PER_MS + fracNs + spanNs - 1n };
}

/** The same point with the local zone written out, when text is a date or
 * time without one (anything else is returned as is): a point named in one
 * process and resolved in another (a CLI command carried to the mount over
 * its control socket) then means the instant its writer meant, whatever
 * zone the other process runs in (found 2026-12-05: a mount started in UTC
 * read a New York user's `diff 04:58` five hours off). */
export function withLocalZone(text: string): string {
  const s = text.trim();
  const m = ISO.exec(s);
  if (!m || m[8] !== undefined || parseTimeSpec(s) === undefined) return text;
  const [, Y, Mo, D, h, mi, sec] = m;
  const off = -new Date(+Y, +Mo - 1, +D, +(h ?? 0), +(mi ?? 0), +(sec ?? 0)).getTimezoneOffset();
  const a = Math.abs(off);
  return `${s}${off < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** ISO 8601 (UTC, nanoseconds) of an instant: how history entries are named. */
export function isoOfNs(ns: bigint): string {
  const ms = Number(ns / NS_PER_MS);
  const frac = (((ns % 1000000000n) + 1000000000n) % 1000000000n).toString().padStart(9, '0');
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}
