// Human formatting shared by commands.
export function modeString(mode: number): string {
  const t = ({ 0o140000: 's', 0o120000: 'l', 0o100000: '-', 0o060000: 'b', 0o040000: 'd', 0o020000: 'c', 0o010000: 'p' } as Record<number, string>)[mode & 0o170000] ?? '?';
  const r = (b: number, c: string) => (mode & b ? c : '-');
  return t + r(0o400, 'r') + r(0o200, 'w') + (mode & 0o4000 ? (mode & 0o100 ? 's' : 'S') : r(0o100, 'x'))
    + r(0o040, 'r') + r(0o020, 'w') + (mode & 0o2000 ? (mode & 0o010 ? 's' : 'S') : r(0o010, 'x'))
    + r(0o004, 'r') + r(0o002, 'w') + (mode & 0o1000 ? (mode & 0o001 ? 't' : 'T') : r(0o001, 'x'));
}

/** A path (or name) for a line of text output: as it is, unless it holds a
 * control character, a double quote or a backslash; then quoted with C
 * escapes, as git does (a name with a newline would otherwise read as two
 * lines). --json gives paths exactly. */
export function quotePath(p: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[\x00-\x1f\x7f"\\]/.test(p)) return p;
  const esc: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r', '"': '\\"', '\\': '\\\\' };
  // eslint-disable-next-line no-control-regex
  return '"' + p.replace(/[\x00-\x1f\x7f"\\]/g, (c) => esc[c] ?? `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`) + '"';
}

/** A message for one line of stderr: control characters (a newline in a
 * path it names) as C escapes, so an error stays one line. */
export function oneLine(msg: string): string {
  const esc: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r' };
  // eslint-disable-next-line no-control-regex
  return msg.replace(/[\x00-\x1f\x7f]/g, (c) => esc[c] ?? `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}
