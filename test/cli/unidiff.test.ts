import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { unifiedDiff } from '../../src/cli/unidiff.js';
import { tmpDir } from '../helpers.js';

/** Applies a unified diff to a text (what patch(1) does, strictly). */
function apply(a: string, diff: string): string {
  if (diff === '') return a;
  const src = a === '' ? [] : a.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  let at = 0;
  const lines = diff.replace(/\n$/, '').split('\n').slice(2);
  for (let i = 0; i < lines.length;) {
    const h = /^@@ -(\d+),(\d+) \+(\d+),(\d+) @@$/.exec(lines[i++]);
    if (!h) throw new Error(`not a hunk header: ${lines[i - 1]}`);
    const start = Number(h[2]) === 0 ? Number(h[1]) : Number(h[1]) - 1;
    while (at < start) out.push(src[at++]);
    while (i < lines.length && !lines[i].startsWith('@@')) {
      const l = lines[i++], body = l.slice(1);
      if (l[0] === '+') { out.push(body); continue; }
      if (src[at] !== body) throw new Error(`context mismatch at line ${at + 1}: ${JSON.stringify(body)}`);
      at++;
      if (l[0] === ' ') out.push(body);
    }
  }
  while (at < src.length) out.push(src[at++]);
  return out.length ? out.join('\n') + '\n' : '';
}

const text = (lines: string[]) => (lines.length ? lines.join('\n') + '\n' : '');

describe('unified diff', () => {
  it('every diff of random edits turns the old text into the new one', () => {
    let x = 7;
    const r = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let t = 0; t < 400; t++) {
      const a = Array.from({ length: Math.floor(r() * 80) }, () => `line ${Math.floor(r() * 10)}`);
      const b = a.filter(() => r() > 0.25).flatMap((l) => (r() > 0.8 ? [l, `new ${Math.floor(r() * 6)}`] : [l]));
      const d = unifiedDiff(text(a), text(b), 'a', 'b');
      expect(apply(text(a), d)).toBe(text(b));
    }
  });

  it('one changed line of 100,000 gives one hunk with three lines of context', () => {
    const big = Array.from({ length: 100000 }, (_, i) => String(i));
    const changed = big.map((l) => (l === '50000' ? 'X' : l));
    expect(unifiedDiff(text(big), text(changed), 'a', 'b')).toBe(
      '--- a\n+++ b\n@@ -49998,7 +49998,7 @@\n 49997\n 49998\n 49999\n-50000\n+X\n 50001\n 50002\n 50003\n');
  });

  it('a file of 100,000 lines added, and two texts that share nothing, diff in bounded memory and still apply', () => {
    // The search for the shortest script kept a copy of its whole frontier
    // per step: an added file of 20,000 lines took 4 GB and aborted.
    const big = Array.from({ length: 100000 }, (_, i) => `row ${i}`);
    const added = unifiedDiff('', text(big), 'a', 'b');
    expect(added.startsWith('--- a\n+++ b\n@@ -0,0 +1,100000 @@\n+row 0\n')).toBe(true);
    expect(apply('', added)).toBe(text(big));
    const fwd = Array.from({ length: 20000 }, (_, i) => `n${i}`);
    const rev = [...fwd].reverse();
    const before = process.memoryUsage().rss;
    const d = unifiedDiff(text(fwd), text(rev), 'a', 'b');
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    expect(apply(text(fwd), d)).toBe(text(rev));
  });

  it('a missing final newline is a change, marked as diff marks it, and git apply takes every diff', () => {
    // Found by the CLI hunt (2026-12-05): a change of only the final newline
    // printed nothing, a file without one got no marker (git apply refused
    // the diff), and hunks ended after two lines of context instead of three.
    const seq = text(Array.from({ length: 20 }, (_, i) => String(i + 1)));
    const cases: [string, string][] = [
      ['abc', 'abc\n'], ['abc\n', 'abc'], ['old', 'new'], ['', 'x'], ['x', ''],
      [seq, seq.replace('\n10\n', '\nten\n')], [seq, seq.slice(0, -1)], [seq + 'tail', seq + 'tail\n'],
      ['a\nb\nc', 'a\nB\nc'],
    ];
    expect(unifiedDiff('abc', 'abc\n', 'a/f', 'b/f')).toBe('--- a/f\n+++ b/f\n@@ -1,1 +1,1 @@\n-abc\n\\ No newline at end of file\n+abc\n');
    const dir = tmpDir();
    execFileSync('git', ['init', '-q', dir]);
    for (const [a, b] of cases) {
      fs.writeFileSync(path.join(dir, 'f'), a);
      fs.writeFileSync(path.join(dir, 'p.diff'), unifiedDiff(a, b, 'a/f', 'b/f'));
      execFileSync('git', ['apply', 'p.diff'], { cwd: dir });
      expect(fs.readFileSync(path.join(dir, 'f'), 'utf8')).toBe(b);
    }
  });
});
