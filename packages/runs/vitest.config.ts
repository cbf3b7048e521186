import { defineConfig } from 'vitest/config'

// Sized for a loaded 2-core CI machine: the tests start Node processes.
export default defineConfig({
  test: { include: ['src/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 30_000 },
})
