import { defineConfig } from 'vitest/config'

// Sized for a loaded 2-core CI machine: the tests run promtool, a real Prometheus scraping the
// built gateway and worker, and build the production bundles from a copy of the repository
// (`pnpm install`, a full `turbo run build`, `pnpm deploy`). Each wait inside a test has its own,
// shorter, named deadline.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
})
