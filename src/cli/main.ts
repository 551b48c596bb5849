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

/** Middleware: an option given twice keeps its last value, except options
 * declared as lists. (yargs passes its instance in context as the second
 * argument; its typings do not say so.) */
function lastValueWins(argv: Record<string, unknown>, y: { getOptions(): { array: string[] } }): void {
  const lists = new Set<string>();
  for (const k of y.getOptions().array) {
    lists.add(k);
    lists.add(k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()));
  }
  for (const [k, v] of Object.entries(argv)) {
    if (k !== '_' && k !== '--' && Array.isArray(v) && !lists.has(k)) argv[k] = v[v.length - 1];
  }
}

// "-1h" would parse as the flags -1 and -h (help, exit 0, nothing done): a
// time or duration never takes a minus, so say so (exit 2). Everything
// after "--" is a value.
const args = hideBin(process.argv);
const end = args.indexOf('--');
const minus = args.slice(0, end < 0 ? undefined : end).find((a) => /^-\d+(\.\d+)?[a-zA-Z]+$/.test(a));
if (minus !== undefined) {
  process.stderr.write(`mikofs: ${minus}: a time or duration is written without a minus (${minus.slice(1)}: that long ago, or that long) (see mikofs --help)\n`);
  process.exit(2);
}

const cli = yargs(args)
  .scriptName('mikofs')
  .usage('$0 <command> [options]\n\nA versioned filesystem whose whole state and history live in one SQLite file.')
  .strict()
  // An option given twice takes its last value (as most tools do), instead
  // of an array that the command would read as one strange value; options
  // declared as lists (retention --rule ...) still collect every value.
  .middleware(lastValueWins as unknown as MiddlewareFunction, true)
  .demandCommand(1, 'name a command')
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version()
  .wrap(Math.min(100, process.stdout.columns || 100))
  .fail((msg, err, y) => {
    if (err) {
      process.stderr.write(`mikofs: ${oneLine(err.message)}\n`);
    } else {
      // strict() + recommendCommands() say only "Did you mean log?" for an
      // unknown command: say which word was not a command.
      const text = /^Did you mean/.test(msg) ? `unknown command ${JSON.stringify(process.argv[2])}; d${msg.slice(1)}` : msg;
      process.stderr.write(`mikofs: ${oneLine(text)} (see mikofs --help)\n`);
    }
    void y;
    process.exit(2);
  });

for (const c of commands) cli.command(c);
await cli.parseAsync();
