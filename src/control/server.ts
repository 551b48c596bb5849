// The mount process serves its store's StoreOps on a Unix socket, so CLI
// commands change the mounted store through the one process that holds it
// (no second writer) and the mount sees the change at once.
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import type { StoreOps } from './ops.js';
import type { Request, Response } from './protocol.js';

const METHODS = new Set(['info', 'snapshot', 'labelSet', 'labelDelete', 'labelList', 'log', 'diff', 'readAt', 'restore', 'rollback',
  'gc', 'gcStatus', 'du', 'retention', 'backup', 'backupStatus']);

/** Removes the socket at p, and nothing else that may sit there. */
function removeSocket(p: string): void {
  try { if (fs.lstatSync(p).isSocket()) fs.unlinkSync(p); } catch { /* none */ }
}

export class ControlServer {
  private server: net.Server;

  private constructor(private readonly ops: StoreOps, readonly socketPath: string) {
    this.server = net.createServer((sock) => this.serve(sock));
  }

  static async start(ops: StoreOps, socketPath: string): Promise<ControlServer> {
    // (A read-only mount's socket lives in the runtime directory of mounts.)
    fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    // A socket file left by a dead mount would make listen() fail; anything
    // else there is someone's file (a backup named STORE.sock): not ours to
    // delete, and listen() then fails and says so.
    removeSocket(socketPath);
    const s = new ControlServer(ops, socketPath);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(socketPath, () => resolve());
    });
    fs.chmodSync(socketPath, 0o600); // only the owner may change the store
    s.server.unref();
    return s;
  }

  private serve(sock: net.Socket): void {
    let buf = '';
    // Aborted when the client goes (interrupted, timed out): work it asked
    // for that nobody else waits for may be dropped (history-worker.ts).
    const gone = new AbortController();
    sock.on('close', () => gone.abort());
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        void this.handle(line, gone.signal).then((r) => { if (!sock.destroyed) sock.write(JSON.stringify(r) + '\n'); });
      }
    });
    sock.on('error', () => sock.destroy());
  }

  private async handle(line: string, signal: AbortSignal): Promise<Response> {
    let req: Request;
    try { req = JSON.parse(line) as Request; } catch { return { id: -1, error: { code: 'EINVAL', message: 'bad request' } }; }
    if (!METHODS.has(req.method)) return { id: req.id, error: { code: 'ENOSYS', message: `no method ${req.method}` } };
    try {
      const fn = (this.ops as unknown as Record<string, (p: unknown, signal: AbortSignal) => Promise<unknown>>)[req.method];
      return { id: req.id, result: await fn.call(this.ops, req.params ?? {}, signal) };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      return { id: req.id, error: { code: err.code, message: err.message ?? String(e) } };
    }
  }

  close(): void {
    this.server.close();
    removeSocket(this.socketPath);
  }
}
