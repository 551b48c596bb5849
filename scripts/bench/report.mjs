// Statistics, the human-readable table, the ratio lines and the JSON result file.
import fs from 'node:fs';
import path from 'node:path';

/** Pass thresholds for mikofs/bindfs, oriented so higher is better for mikofs. */
export const GOALS = {
  seq_write: 0.5,
  seq_read_cold: 0.8,
  seq_read_hot: 2.0,
  tar_x: 1.0,
  ls_lR_warm: 1.0,
  git_commit: 1 / 1.2,
  git_status: 1 / 1.2,
  git_clone: 1 / 1.5,
};

export function stats(values) {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  const median = s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length, values };
}

/** a relative to b, oriented so > 1 means a is better. */
export function ratio(a, b, higher) {
  if (!a || !b || !a.median || !b.median) return null;
  return higher ? a.median / b.median : b.median / a.median;
}

export function fmt(v) {
  if (v == null || !Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 10) return v.toFixed(2);
  if (a >= 1) return v.toFixed(3);
  return v.toPrecision(3);
}

const fmtR = (r) => (r == null ? '-' : r.toFixed(2));
const cell = (s) => (s ? `${fmt(s.median)} [${fmt(s.min)}-${fmt(s.max)}]` : '-');

function pad(s, n, right = false) {
  s = String(s);
  return right ? s.padStart(n) : s.padEnd(n);
}

/** Builds the summary: summary[mode][workload][target] = stats, plus ratios and RSS. */
export function summarize(records, { modes, workloads, targets }) {
  const summary = {};
  const status = {};
  const ratios = {};
  const rss = {};
  for (const mode of modes) {
    summary[mode] = {};
    ratios[mode] = {};
    rss[mode] = {};
    for (const w of workloads) {
      summary[mode][w.id] = {};
      for (const t of targets) {
        const recs = records.filter((r) => r.mode === mode && r.workload === w.id && r.target === t && r.ok);
        summary[mode][w.id][t] = stats(recs.map((r) => r.value));
        if (!recs.length) {
          const bad = records.filter((r) => r.mode === mode && r.workload === w.id && r.target === t);
          if (bad.length) ((status[mode] ??= {})[w.id] ??= {})[t] = bad.some((r) => r.error) ? 'FAILED' : 'skipped';
        }
        if (w.rss && t !== 'disk') {
          const kib = recs.map((r) => r.rssPeakKiB).filter((x) => x != null);
          (rss[mode][w.id] ??= {})[t] = stats(kib.map((k) => k / 1024));
        }
      }
      const s = summary[mode][w.id];
      ratios[mode][w.id] = {
        mikofs_bindfs: ratio(s.mikofs, s.bindfs, w.higher),
        mikofs_disk: ratio(s.mikofs, s.disk, w.higher),
        bindfs_disk: ratio(s.bindfs, s.disk, w.higher),
      };
    }
  }
  return { summary, ratios, rss, status };
}

const MODE_TITLE = {
  pinned: 'PINNED (filesystem process and workload on CPU 0, taskset -c 0)',
  unpinned: 'UNPINNED (scheduler decides)',
};

/** The readable report, as a string. */
export function renderTables({ summary, ratios, rss, status }, { modes, workloads, targets, rounds, fx }) {
  const out = [];
  const W = 26;
  for (const mode of modes) {
    out.push('');
    out.push(`== ${MODE_TITLE[mode]}: median [min-max] of ${rounds} round(s); ratios oriented so > 1 is better for the first ==`);
    let h = pad('workload', 16) + pad('unit', 8);
    for (const t of targets) h += pad(t, W);
    h += pad('mik/bindfs', 11, true) + pad('mik/disk', 10, true) + pad('bindfs/disk', 12, true);
    out.push(h);
    out.push('-'.repeat(h.length));
    for (const w of workloads) {
      let line = pad(w.id, 16) + pad(w.unit, 8);
      for (const t of targets) line += pad(summary[mode][w.id][t] ? cell(summary[mode][w.id][t]) : status[mode]?.[w.id]?.[t] ?? '-', W);
      const r = ratios[mode][w.id];
      line += pad(fmtR(r.mikofs_bindfs), 11, true) + pad(fmtR(r.mikofs_disk), 10, true) + pad(fmtR(r.bindfs_disk), 12, true);
      out.push(line);
    }
    const rssW = workloads.filter((w) => w.rss && rss[mode][w.id]);
    const rssT = targets.filter((t) => t !== 'disk');
    if (rssW.length && rssT.length) {
      out.push('');
      out.push(`   peak RSS of the mount process, MiB, median [min-max]:`);
      for (const w of rssW) {
        const what = w.id === 'seq_write' ? `${fx.sizeMiB} MiB write` : `${fx.files}-file extraction`;
        out.push(`   ${pad(`during ${what}`, 32)}` + rssT.map((t) => `${t} ${cell(rss[mode][w.id][t])}`).join('   '));
      }
    }
  }
  return out.join('\n');
}

/** `ratio.<workload>=<mikofs/bindfs>` lines (pinned) and `ratio_unpinned.<workload>=...`, with goals. */
export function renderRatioLines({ ratios, status }, { modes, workloads }) {
  const out = [];
  const checks = {};
  for (const mode of modes) {
    const prefix = mode === 'pinned' ? 'ratio' : 'ratio_unpinned';
    checks[mode] = {};
    out.push('');
    out.push(`# ${prefix}.<workload>=<mikofs vs bindfs, higher is better for mikofs>   goal   verdict`);
    for (const w of workloads) {
      const r = ratios[mode][w.id].mikofs_bindfs;
      const goal = GOALS[w.id];
      let verdict = '';
      if (goal != null) {
        // A mikofs run that failed counts as FAIL; one that was not measured at all is SKIP.
        const failed = status[mode]?.[w.id]?.mikofs === 'FAILED';
        verdict = r == null ? (failed ? 'FAIL' : 'SKIP') : r >= goal - 1e-9 ? 'PASS' : 'FAIL';
        checks[mode][w.id] = { ratio: r, goal, verdict };
      }
      const val = r == null ? 'NA' : r.toFixed(3);
      out.push(`${prefix}.${w.id}=${val}`.padEnd(36) + (goal != null ? `goal>=${goal.toFixed(3)}  ${verdict}` : '(no goal)'));
    }
    const c = Object.values(checks[mode]);
    if (c.length) {
      out.push(`# ${mode}: ${c.filter((x) => x.verdict === 'PASS').length} PASS, ${c.filter((x) => x.verdict === 'FAIL').length} FAIL, ${c.filter((x) => x.verdict === 'SKIP').length} SKIP`);
    }
  }
  return { text: out.join('\n'), checks };
}

export function writeJson(dir, stamp, obj) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${stamp}.json`);
  fs.writeFileSync(file, JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
  return file;
}
