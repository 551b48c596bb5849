import { describe, it, expect } from 'vitest';
import { openStore } from '../src/index.js';
describe('smoke', () => {
  it('works', async () => {
    const e = await openStore(':memory:');
    e.mkdir('/a');
    e.writeFile('/a/f.txt', 'hello');
    expect(e.readFile('/a/f.txt').toString()).toBe('hello');
    const c1 = e.headCommit;
    e.writeFile('/a/f.txt', 'world!');
    expect(e.readFile('/a/f.txt').toString()).toBe('world!');
    expect(e.at(c1).readFile('/a/f.txt').toString()).toBe('hello');
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 0); for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 255;
    e.writeFile('/big', big);
    expect(e.readFile('/big').equals(big)).toBe(true);
    e.rename('/a', '/b');
    expect(e.readdir('/b').map((d) => d.name)).toEqual(['f.txt']);
    expect(e.stat('/').nlink).toBe(3);
    e.close();
  });
});
