// The cheapest test that an opened store is whole enough to serve: its main
// branch and its root directory are there (one primary-key lookup each). A
// copy of a store taken with cp while a mount wrote to it, or a truncated
// one, can pass SQLite's own open and even quick_check yet lack them; served
// as it was, it mounted as an empty tree, silently.
import { StoreFormatError } from './database.js';
import { HEAD, type MetaStore } from './meta-store.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

/** The main branch's id, once the store is seen to have it and a live root
 * directory; else throws a StoreFormatError saying the store is damaged. */
export function intactMainBranch(meta: MetaStore, file: string): number {
  const damaged = (what: string) => new StoreFormatError(`${file} is damaged: ${what} ` +
    '(a copy made while a mount was writing the store? `mikofs backup` makes consistent copies); ' +
    'mikofs verify says what it can still read');
  const main = meta.branchByName('main');
  if (!main) throw damaged('its main branch is missing');
  const root = meta.getInode(main.id, 1, HEAD);
  if (!root) throw damaged('its root directory is missing');
  if ((root.mode & S_IFMT) !== S_IFDIR) throw damaged('its root is not a directory');
  return main.id;
}
