// Unified diffs of two texts (Myers' O(ND) line diff), for `mikofs diff`.
type Op = { kind: ' ' | '-' | '+'; line: string };

/** Edit distance (lines) up to which the shortest edit script is searched.
 * The search keeps one row of D (2d + 1 ints) per step d, O(D^2) memory in
 * all: 2,000 changed lines take 16 MB. A larger change between the common
 * head and tail is shown as the old lines removed and the new ones added,
 * a correct diff if not the shortest, in memory that follows the input. */
const MAX_EDITS = 2000;

/** The shortest edit script between a and b, or null beyond MAX_EDITS. */
function myers(a: string[], b: string[]): Op[] | null {
  const n = a.length, m = b.length, max = Math.min(n + m, MAX_EDITS);
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = []; // trace[d][k + d] = v[k] before step d
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice(off - d, off + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) { x++; y++; }
      v[off + k] = x;
      if (x >= n && y >= m) { found = true; break; }
    }
  }
  if (!found) return null;
  const ops: Op[] = [];
  let x = n, y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d];
    const at = (k: number) => vd[k + d];
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(prevK), prevY = prevX - prevK;
    while (x > prevX && y > prevY) { ops.push({ kind: ' ', line: a[--x] }); y--; }
    if (d > 0) { if (x === prevX) ops.push({ kind: '+', line: b[--y] }); else ops.push({ kind: '-', line: a[--x] }); }
  }
  return ops.reverse();
}

function lineOps(a: string[], b: string[]): Op[] {
  // The common head and tail are equal lines whatever the rest: only the
  // middle needs the search (most edits are small and local).
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const ma = a.slice(head, a.length - tail), mb = b.slice(head, b.length - tail);
  const same = (line: string): Op => ({ kind: ' ', line });
  const middle = (ma.length && mb.length ? myers(ma, mb) : null) ??
    [...ma.map((line): Op => ({ kind: '-', line })), ...mb.map((line): Op => ({ kind: '+', line }))];
  return [...a.slice(0, head).map(same), ...middle, ...a.slice(a.length - tail).map(same)];
}

/** Marks a last line without its newline: such a line differs from the
 * same line with one (a change of the final newline is a change), and is
 * printed with diff's "\\ No newline at end of file", which patch and git
 * apply need. (No text line ends so: isText refuses NULs.) */
const NO_EOL = '\u0000no-eol';

function linesOf(s: string): string[] {
  if (s === '') return [];
  const l = s.split('\n');
  if (l[l.length - 1] === '') l.pop();
  else l[l.length - 1] += NO_EOL;
  return l;
}

export function unifiedDiff(a: string, b: string, nameA: string, nameB: string, context = 3): string {
  const ops = lineOps(linesOf(a), linesOf(b));
  if (ops.every((o) => o.kind === ' ')) return '';
  const out = [`--- ${nameA}`, `+++ ${nameB}`];
  let i = 0, ai = 1, bi = 1;
  while (i < ops.length) {
    if (ops[i].kind === ' ') { i++; ai++; bi++; continue; }
    const start = Math.max(0, i - context);
    // A hunk goes on while changes are at most 2 * context equal lines
    // apart, and ends `context` equal lines after its last change.
    let j = i, quiet = 0;
    while (j < ops.length && quiet <= 2 * context) { quiet = ops[j].kind === ' ' ? quiet + 1 : 0; j++; }
    const end = j - Math.max(0, quiet - context);
    const lead = i - start;
    let aStart = ai - lead, bStart = bi - lead, aLen = 0, bLen = 0;
    const body: string[] = [];
    for (let k = start; k < end; k++) {
      const o = ops[k];
      if (o.line.endsWith(NO_EOL)) body.push(o.kind + o.line.slice(0, -NO_EOL.length), '\\ No newline at end of file');
      else body.push(o.kind + o.line);
      if (o.kind !== '+') aLen++;
      if (o.kind !== '-') bLen++;
    }
    if (aLen === 0) aStart--;
    if (bLen === 0) bStart--;
    out.push(`@@ -${aStart},${aLen} +${bStart},${bLen} @@`, ...body);
    for (let k = i; k < end; k++) { if (ops[k].kind !== '+') ai++; if (ops[k].kind !== '-') bi++; }
    i = end;
  }
  return out.join('\n') + '\n';
}

export function isText(buf: Buffer): boolean {
  return !buf.subarray(0, 8000).includes(0);
}
