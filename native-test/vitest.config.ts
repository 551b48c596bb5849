import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Native tests mount real FUSE filesystems: one file at a time, in forked
// processes, with generous timeouts.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['native-test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false
  }
})
