// RemoteOps: StoreOps carried over the control socket of a mount process.
import net from 'node:net';
import type { StoreOps } from './ops.js';
import type { Response } from './protocol.js';
import { withLocalZone } from '../engine/timespec.js';

export class ControlError extends Error {
  constructor(readonly code: string | undefined, message: string) { super(message); }
}

export function connect(socketPath: string, timeoutMs = 30000): Promise<RemoteOps> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(socketPath);
    sock.once('connect', () => { sock.off('error', reject); resolve(new RemoteOps(sock, timeoutMs)); });
    sock.once('error', reject);
  });
}

/** The request fields that name a point in time. */
const POINTS = ['at', 'from', 'to', 'since', 'until'];

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class RemoteOps implements StoreOps {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private buf = '';

  constructor(private readonly sock: net.Socket, private readonly timeoutMs: number) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const r = JSON.parse(this.buf.slice(0, nl)) as Response;
        this.buf = this.buf.slice(nl + 1);
        const p = this.pending.get(r.id);
        if (!p) continue;
        this.pending.delete(r.id);
        clearTimeout(p.timer);
        if (r.error) p.reject(new ControlError(r.error.code, r.error.message));
        else p.resolve(r.result);
      }
    });
    const failAll = (e: Error) => { for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(e); } this.pending.clear(); };
    // The mount process died mid-request (ECONNRESET, EPIPE): say so.
    sock.on('error', (e: NodeJS.ErrnoException) => failAll(e.code === 'ECONNRESET' || e.code === 'EPIPE'
      ? new ControlError('EIO', 'the mount process closed the control connection (did it exit? see its log)') : e));
    sock.on('close', () => failAll(new ControlError('EIO', 'the mount process closed the control connection')));
  }

  private call<T>(method: string, params: unknown = {}, timeoutMs = this.timeoutMs): Promise<T> {
    const id = this.nextId++;
    // Local times are this process's: the mount may run in another zone.
    if (params && typeof params === 'object') {
      const p = { ...(params as Record<string, unknown>) };
      for (const k of POINTS) if (typeof p[k] === 'string') p[k] = withLocalZone(p[k] as string);
      params = p;
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new ControlError('ETIMEDOUT', `the mount process did not answer ${method}`)); }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.sock.write(JSON.stringify({ id, method, params }) + '\n');
    });
  }

  close(): void { this.sock.end(); }

  info() { return this.call<Awaited<ReturnType<StoreOps['info']>>>('info'); }
  snapshot(p: Parameters<StoreOps['snapshot']>[0]) { return this.call<Awaited<ReturnType<StoreOps['snapshot']>>>('snapshot', p); }
  labelSet(p: Parameters<StoreOps['labelSet']>[0]) { return this.call<Awaited<ReturnType<StoreOps['labelSet']>>>('labelSet', p); }
  labelDelete(p: Parameters<StoreOps['labelDelete']>[0]) { return this.call<void>('labelDelete', p); }
  labelList() { return this.call<Awaited<ReturnType<StoreOps['labelList']>>>('labelList'); }
  log(p: Parameters<StoreOps['log']>[0]) { return this.call<Awaited<ReturnType<StoreOps['log']>>>('log', p); }
  diff(p: Parameters<StoreOps['diff']>[0]) { return this.call<Awaited<ReturnType<StoreOps['diff']>>>('diff', p); }
  readAt(p: Parameters<StoreOps['readAt']>[0]) { return this.call<string | null>('readAt', p); }
  restore(p: Parameters<StoreOps['restore']>[0]) { return this.call<Awaited<ReturnType<StoreOps['restore']>>>('restore', p); }
  rollback(p: Parameters<StoreOps['rollback']>[0]) { return this.call<Awaited<ReturnType<StoreOps['rollback']>>>('rollback', p); }
  // Garbage collection of a large store runs for as long as it needs.
  gc(p: Parameters<StoreOps['gc']>[0]) { return this.call<Awaited<ReturnType<StoreOps['gc']>>>('gc', p, 24 * 3600e3); }
  gcStatus() { return this.call<Awaited<ReturnType<StoreOps['gcStatus']>>>('gcStatus'); }
  du(p: Parameters<StoreOps['du']>[0]) { return this.call<Awaited<ReturnType<StoreOps['du']>>>('du', p, 600e3); }
  retention(p: Parameters<StoreOps['retention']>[0]) { return this.call<Awaited<ReturnType<StoreOps['retention']>>>('retention', p); }
  // A copy of a large store takes as long as its disk needs.
  backup(p: Parameters<StoreOps['backup']>[0]) { return this.call<Awaited<ReturnType<StoreOps['backup']>>>('backup', p, 24 * 3600e3); }
  backupStatus() { return this.call<Awaited<ReturnType<StoreOps['backupStatus']>>>('backupStatus'); }
}
