#!/usr/bin/env node
// mikofs command line. Each command lives in commands/<name>.ts and exports
// `command` (a yargs CommandModule); this file only assembles them.
import './cwd-check.js';
import yargs, { type MiddlewareFunction } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import { oneLine } from './format.js';

// `mikofs log | head`: the reader went away. Stop quietly, as a tool killed
// by SIGPIPE would, instead of an unhandled EPIPE with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  process.stderr.write(`mikofs: standard output: ${e.message}\n`);
  process.exit(1);
});

// Ctrl-C (and SIGTERM, SIGHUP) ends a command through process.exit, whose
// exit hooks close the stores it has open and remove a backup's unfinished
// copy; killed by the signal itself, a gc left its store in WAL mode and a
// backup its DEST.tmp (found 2026-12-05). Exit status as a shell reports a
// death by that signal (128 + its number). Not for mount, which unmounts on
// these signals itself (fuse/mount.ts).
if (hideBin(process.argv).find((a) => !a.startsWith('-')) !== 'mount') {
  for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) process.on(sig, () => process.exit(128 + n));
}

/** Middleware: an option given twice keeps its last value, except options
 * declared as lists. (yargs passes its instance in context as the second
 * argument; its typings do not say so.) */
function lastValueWins(argv: Record<string, unknown>, y: { getOptions(): { array: string[] } }): void {
  const lists = new Set<string>();
  for (const k of y.getOptions().array) {
    lists.add(k);
    lists.add(k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()));
  }
  // -o adds up, as for mount(8) and sshfs (`-o ro -o allow_other`): not
  // declared a list, which would take the positionals after it as values.
  lists.add('o');
  for (const [k, v] of Object.entries(argv)) {
    if (k !== '_' && k !== '--' && Array.isArray(v) && !lists.has(k)) argv[k] = v[v.length - 1];
  }
}

// "-1h" would parse as the flags -1 and -h (help, exit 0, nothing done): a
// time or duration never takes a minus, so say so (exit 2). Everything
// after "--" is a value.
const args = hideBin(process.argv);
const end = args.indexOf('--');
if (end === 0) {
  // `mikofs -- init x` ran nothing and exited 0: the command comes first.
  process.stderr.write('mikofs: name a command before "--" (see mikofs --help)\n');
  process.exit(2);
}
const minus = args.slice(0, end < 0 ? undefined : end).find((a) => /^-\d+(\.\d+)?[a-zA-Z]+$/.test(a));
if (minus !== undefined) {
  process.stderr.write(`mikofs: ${minus}: a time or duration is written without a minus (${minus.slice(1)}: that long ago, or that long) (see mikofs --help)\n`);
  process.exit(2);
}

// yargs keeps what follows "--" out of a command's positionals (it lands in
// argv._, where no command looks): `mikofs log -- a.txt` showed the whole
// log, `mikofs init -- -d.mikofs` made the default store. So each word after
// "--" goes to yargs as a placeholder it takes for a plain positional, and
// gets its own text back (middleware below) before the command sees it.
const PLACEHOLDER = /\0mikofs-arg-(\d+)\0/g;
const dashed = end > 0 ? args.slice(end + 1) : [];
const words = end > 0 ? [...args.slice(0, end), ...dashed.map((_w, i) => `\0mikofs-arg-${i}\0`)] : args;
const unplaceholder = (s: string): string => s.replace(PLACEHOLDER, (_m, i: string) => dashed[Number(i)]);

/** The names of a command's positionals ("diff <from> [to] [path]"). */
function positionalsOf(name: unknown): Set<string> {
  const c = commands.find((x) => String(x.command).split(' ')[0] === name || ([] as string[]).concat(x.aliases ?? []).includes(String(name)));
  return new Set([...String(c?.command ?? '').matchAll(/[<[]([^\]>]+)[\]>]/g)].map((m) => m[1]));
}

/** Middleware: the words after "--" back in place of their placeholders. A
 * placeholder in an option means the option before "--" had no value (it
 * took the word after "--" as one). */
function afterDashes(argv: Record<string, unknown>): void {
  if (!dashed.length) return;
  const positionals = positionalsOf(argv._ && (argv._ as unknown[])[0]);
  for (const [k, v] of Object.entries(argv)) {
    if (k === '$0') continue;
    const has = (x: unknown) => typeof x === 'string' && x.search(PLACEHOLDER) >= 0;
    if (k !== '_' && !positionals.has(k) && (has(v) || (Array.isArray(v) && v.some(has)))) {
      // (A middleware's throw escapes yargs' fail(): say it here, as for -1h.)
      process.stderr.write(`mikofs: ${k.length === 1 ? '-' : '--'}${k} needs a value; what follows "--" is never an option's value (see mikofs --help)\n`);
      process.exit(2);
    }
    if (typeof v === 'string') argv[k] = unplaceholder(v);
    else if (Array.isArray(v)) argv[k] = v.map((x) => (typeof x === 'string' ? unplaceholder(x) : x));
  }
}

const cli = yargs(words)
  .scriptName('mikofs')
  .usage('$0 <command> [options]\n\nA versioned filesystem whose whole state and history live in one SQLite file.')
  .strict()
  // An option given twice takes its last value (as most tools do), instead
  // of an array that the command would read as one strange value; options
  // declared as lists (retention --rule ...) still collect every value.
  .middleware(lastValueWins as unknown as MiddlewareFunction, true)
  .middleware(afterDashes as unknown as MiddlewareFunction, true)
  .demandCommand(1, 'name a command')
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version()
  // After --help or --version, exit when the event loop ends rather than at
  // once: a failed write of that text (stdout full, closed) is reported by
  // the stdout error handler above, as for any command (exit 1; it exited
  // 0 with nothing said; found 2026-12-05).
  .exitProcess(false)
  .wrap(Math.min(100, process.stdout.columns || 100))
  .fail((msg, err, y) => {
    if (err) {
      process.stderr.write(`mikofs: ${oneLine(unplaceholder(err.message))}\n`);
    } else {
      // strict() + recommendCommands() say only "Did you mean log?" for an
      // unknown command: say which word was not a command.
      const text = /^Did you mean/.test(msg) ? `unknown command ${JSON.stringify(process.argv[2])}; d${msg.slice(1)}` : msg;
      process.stderr.write(`mikofs: ${oneLine(unplaceholder(text))} (see mikofs --help)\n`);
    }
    void y;
    process.exit(2);
  });

for (const c of commands) cli.command(c);
await cli.parseAsync();
