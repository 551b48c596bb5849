// Unified diffs of two texts (Myers' O(ND) line diff), for `mikofs diff`.
type Op = { kind: ' ' | '-' | '+'; line: string };

function lineOps(a: string[], b: string[]): Op[] {
  const n = a.length, m = b.length, max = n + m;
  const v = new Map<number, number>([[1, 0]]);
  const trace: Map<number, number>[] = [];
  outer: for (let d = 0; d <= max; d++) {
    trace.push(new Map(v));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && (v.get(k - 1) ?? -1) < (v.get(k + 1) ?? -1)) ? v.get(k + 1) ?? 0 : (v.get(k - 1) ?? 0) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) { x++; y++; }
      v.set(k, x);
      if (x >= n && y >= m) break outer;
    }
  }
  const ops: Op[] = [];
  let x = n, y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d];
    const k = x - y;
    const prevK = k === -d || (k !== d && (vd.get(k - 1) ?? -1) < (vd.get(k + 1) ?? -1)) ? k + 1 : k - 1;
    const prevX = vd.get(prevK) ?? 0, prevY = prevX - prevK;
    while (x > prevX && y > prevY) { ops.push({ kind: ' ', line: a[--x] }); y--; }
    if (d > 0) { if (x === prevX) ops.push({ kind: '+', line: b[--y] }); else ops.push({ kind: '-', line: a[--x] }); }
  }
  return ops.reverse();
}

export function unifiedDiff(a: string, b: string, nameA: string, nameB: string, context = 3): string {
  const la = a === '' ? [] : a.replace(/\n$/, '').split('\n');
  const lb = b === '' ? [] : b.replace(/\n$/, '').split('\n');
  const ops = lineOps(la, lb);
  if (ops.every((o) => o.kind === ' ')) return '';
  const out = [`--- ${nameA}`, `+++ ${nameB}`];
  let i = 0, ai = 1, bi = 1;
  while (i < ops.length) {
    if (ops[i].kind === ' ') { i++; ai++; bi++; continue; }
    const start = Math.max(0, i - context);
    let end = i;
    for (let quiet = 0; end < ops.length; end++) {
      quiet = ops[end].kind === ' ' ? quiet + 1 : 0;
      if (quiet > 2 * context) { end -= quiet - context; break; }
    }
    end = Math.min(end, ops.length);
    const lead = i - start;
    let aStart = ai - lead, bStart = bi - lead, aLen = 0, bLen = 0;
    const body: string[] = [];
    for (let j = start; j < end; j++) {
      const o = ops[j];
      body.push(o.kind + o.line);
      if (o.kind !== '+') aLen++;
      if (o.kind !== '-') bLen++;
    }
    if (aLen === 0) aStart--;
    if (bLen === 0) bStart--;
    out.push(`@@ -${aStart},${aLen} +${bStart},${bLen} @@`, ...body);
    for (let j = i; j < end; j++) { if (ops[j].kind !== '+') ai++; if (ops[j].kind !== '-') bi++; }
    i = end;
  }
  return out.join('\n') + '\n';
}

export function isText(buf: Buffer): boolean {
  return !buf.subarray(0, 8000).includes(0);
}
