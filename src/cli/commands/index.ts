// The command list. Add a command by adding its file and one line here.
import type { CommandModule } from 'yargs';
import { command as init } from './init.js';
import { command as ls } from './ls.js';
import { command as cat } from './cat.js';
import { command as stat } from './stat.js';
import { command as snapshot } from './snapshot.js';
import { command as label } from './label.js';
import { command as log } from './log.js';
import { command as diff } from './diff.js';
import { command as restore } from './restore.js';
import { command as rollback } from './rollback.js';
import { command as mount } from './mount.js';
import { command as umount } from './umount.js';
import { command as gc } from './gc.js';
import { command as du } from './du.js';
import { command as retention } from './retention.js';
import { command as verify } from './verify.js';
import { command as backup } from './backup.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [init, ls, cat, stat, mount, umount, snapshot, label, log, diff, restore, rollback, gc, du, retention, verify, backup];
