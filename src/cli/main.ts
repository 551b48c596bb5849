#!/usr/bin/env node
// mikofs command line. Each command lives in commands/<name>.ts and exports
// `command` (a yargs CommandModule); this file only assembles them.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';

// `mikofs log | head`: the reader went away. Stop quietly, as a tool killed
// by SIGPIPE would, instead of an unhandled EPIPE with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  process.stderr.write(`mikofs: standard output: ${e.message}\n`);
  process.exit(1);
});

const cli = yargs(hideBin(process.argv))
  .scriptName('mikofs')
  .usage('$0 <command> [options]\n\nA versioned filesystem whose whole state and history live in one SQLite file.')
  .strict()
  .demandCommand(1, 'Name a command; see mikofs --help.')
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version()
  .wrap(Math.min(100, process.stdout.columns || 100))
  .fail((msg, err, y) => {
    if (err) {
      process.stderr.write(`mikofs: ${err.message}\n`);
    } else {
      process.stderr.write(`mikofs: ${msg}\nRun "mikofs --help" for usage.\n`);
    }
    void y;
    process.exit(2);
  });

for (const c of commands) cli.command(c);
await cli.parseAsync();
