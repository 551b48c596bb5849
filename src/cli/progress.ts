// Sizes for people, and progress of long jobs: shown on a terminal
// (stderr, one line rewritten in place), silent when piped.
export function humanBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0, v = n;
  while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${u[i]}`;
}

export class Progress {
  private readonly tty = !!process.stderr.isTTY;
  private shown = false;
  private readonly t0 = Date.now();

  /** Rewrites the progress line (no-op when stderr is not a terminal). */
  update(text: string): void {
    if (!this.tty) return;
    const secs = ((Date.now() - this.t0) / 1000).toFixed(0);
    const line = `${text} (${secs}s)`.slice(0, (process.stderr.columns || 80) - 1);
    process.stderr.write(`\r\x1b[K${line}`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

/** Polls fn every ms while `work` runs, feeding the progress line. */
export async function withProgress<T>(work: Promise<T>, poll: () => Promise<string | null>, ms = 250): Promise<T> {
  const p = new Progress();
  if (!process.stderr.isTTY) return work;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      await new Promise((r) => setTimeout(r, ms));
      if (stop) break;
      try { const s = await poll(); if (s && !stop) p.update(s); } catch { /* progress is best effort */ }
    }
  })();
  try { return await work; } finally { stop = true; await loop; p.done(); }
}
