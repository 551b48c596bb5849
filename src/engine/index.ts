export { Engine, ReadView, type OpenFlags } from './engine.js';
export { FsError, isFsError, type ErrnoCode } from './errors.js';
export * from './types.js';
export { WriteSession } from './write-session.js';
export { Tree, ROOT_INO } from './tree.js';
export { History, type LogEntry, type FileVersion, type DiffEntry } from './history.js';
export { parseTimeSpec, isoOfNs, type TimeSpec as PointSpec } from './timespec.js';
export { StoreLockedError } from '../store/database.js';
