import { defineConfig } from 'vitest/config'

// Sized for a loaded 2-core CI machine: tests start the CLI, compute threads and redis-server,
// and run 5,000-stock jobs. Each wait inside a test has its own, shorter, named deadline.
export default defineConfig({
  test: { include: ['src/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 30_000 },
})
