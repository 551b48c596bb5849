// mikofs as a library: openStore(file | ':memory:') gives the engine.
import { Engine } from './engine/engine.js';
import type { StoreOptions } from './store/store.js';
export * from './engine/index.js';
export { MEMORY, StoreLockedError } from './store/store.js';
export { StoreFormatError } from './store/database.js';

export function openStore(pathOrMemory: string, opts: StoreOptions = {}): Promise<Engine> {
  return Engine.open(pathOrMemory, opts);
}
