// The command list. Add a command by adding its file and one line here.
import type { CommandModule } from 'yargs';
import { command as init } from './init.js';
import { command as ls } from './ls.js';
import { command as cat } from './cat.js';
import { command as stat } from './stat.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [init, ls, cat, stat];
