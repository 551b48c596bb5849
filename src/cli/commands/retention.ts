import type { CommandModule } from 'yargs';
import { run, UsageError } from '../errors.js';
import { openTarget, storeOption } from '../target.js';
import { printJson } from '../store-arg.js';
import { DEFAULT_POLICY, parseDuration, type RetentionPolicy, type RetentionRule } from '../../engine/retention.js';

interface Args {
  store?: string; json: boolean; reset: boolean;
  keepAll?: string; hourly?: string; daily?: string; rapid?: string;
  noHistory?: string[]; rule?: string[]; remove?: string[];
}

function show(p: RetentionPolicy): string {
  const o = [
    `every version for  ${p.keepAll}`,
    `hourly for         ${p.hourly}`,
    `daily for          ${p.daily}`,
    parseDuration(p.rapidWindow) === 0n ? 'rapid edits:       every save kept (no collapsing)'
      : `rapid edits within ${p.rapidWindow} collapse into the last`,
    'labelled and snapshotted states: for ever',
  ];
  for (const r of p.rules) {
    o.push(r.history === 'none' ? `no history:  ${r.pattern}`
      : `rule ${r.pattern}: every version ${r.keepAll ?? p.keepAll}, hourly ${r.hourly ?? p.hourly}, daily ${r.daily ?? p.daily}`);
  }
  return o.join('\n') + '\n';
}

/** PATTERN=keepAll,hourly,daily  e.g. 'logs/**=1h,1d,0' */
function parseRule(text: string): RetentionRule {
  const i = text.lastIndexOf('=');
  if (i <= 0) throw new UsageError(`--rule takes PATTERN=KEEPALL,HOURLY,DAILY (e.g. 'logs/**=1h,1d,0'), not ${JSON.stringify(text)}`);
  const parts = text.slice(i + 1).split(',');
  if (parts.length > 3) throw new UsageError(`--rule takes three durations at most (KEEPALL,HOURLY,DAILY), not ${JSON.stringify(text)}`);
  const [keepAll, hourly, daily] = parts;
  const r: RetentionRule = { pattern: text.slice(0, i) };
  if (keepAll) r.keepAll = keepAll;
  if (hourly) r.hourly = hourly;
  if (daily) r.daily = daily;
  return r;
}

export const command: CommandModule<object, Args> = {
  command: 'retention',
  describe: 'Show or set how much history the store keeps (tiers, rapid-edit window, per-path rules)',
  builder: (y) => y
    .parserConfiguration({ 'boolean-negation': false }) // --no-history is an option, not "history: false"
    .option('store', storeOption)
    .option('keep-all', { type: 'string', describe: 'keep every version this long (e.g. 24h)' })
    .option('hourly', { type: 'string', describe: 'then the last version of each hour this long (e.g. 7d)' })
    .option('daily', { type: 'string', describe: 'then the last of each day this long (e.g. 90d; 0 = none, forever)' })
    .option('rapid', { type: 'string', describe: 'saves of a file closer than this collapse into the last (e.g. 5s; 0 = off)' })
    .option('no-history', { type: 'string', array: true, describe: 'keep no history for paths matching (e.g. "**/node_modules/**")' })
    .option('rule', { type: 'string', array: true, describe: "own tiers for a pattern: 'PATTERN=KEEPALL,HOURLY,DAILY'" })
    .option('remove', { type: 'string', array: true, describe: 'drop the rule for this pattern' })
    .option('reset', { type: 'boolean', default: false, describe: 'back to the defaults' })
    .option('json', { type: 'boolean', default: false })
    .example('$0 retention --no-history "**/node_modules/**" --no-history "*.tmp"', 'no history for these')
    .example('$0 retention --keep-all 48h --daily 1y', 'change the tiers'),
  handler: (a) => run(async () => {
    const change = a.reset || a.keepAll !== undefined || a.hourly !== undefined || a.daily !== undefined || a.rapid !== undefined
      || !!a.noHistory?.length || !!a.rule?.length || !!a.remove?.length;
    const t = await openTarget(a.store, change);
    try {
      let p = await t.ops.retention({});
      if (change) {
        const next: RetentionPolicy = a.reset ? { ...DEFAULT_POLICY, rules: [] } : { ...p, rules: [...p.rules] };
        if (a.keepAll !== undefined) next.keepAll = a.keepAll;
        if (a.hourly !== undefined) next.hourly = a.hourly;
        if (a.daily !== undefined) next.daily = a.daily;
        if (a.rapid !== undefined) next.rapidWindow = a.rapid;
        const put = (r: RetentionRule) => { next.rules = [...next.rules.filter((x) => x.pattern !== r.pattern), r]; };
        for (const pat of a.remove ?? []) {
          if (!next.rules.some((x) => x.pattern === pat)) throw new UsageError(`no rule for ${JSON.stringify(pat)}`);
          next.rules = next.rules.filter((x) => x.pattern !== pat);
        }
        for (const pat of a.noHistory ?? []) put({ pattern: pat, history: 'none' });
        for (const r of a.rule ?? []) put(parseRule(r));
        p = await t.ops.retention({ set: next });
      }
      if (a.json) printJson(p);
      else process.stdout.write(show(p));
    } finally { t.close(); }
  }),
};
