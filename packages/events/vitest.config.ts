import { defineConfig } from 'vitest/config'

// Pure computation, but CI is a loaded 2-core machine: generous limits, no test relies on them.
export default defineConfig({
  test: { include: ['src/**/*.test.ts'], testTimeout: 20_000, hookTimeout: 20_000 },
})
