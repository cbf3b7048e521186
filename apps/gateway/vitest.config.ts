import { defineConfig } from 'vitest/config'

// Sized for a loaded 2-core CI machine: tests start the built gateway, the worker CLI and
// redis-server, and follow paced jobs of thousands of stocks across restarts. Each wait inside a
// test has its own, shorter, named deadline, so a stuck test says what never happened.
export default defineConfig({
  test: {
    // The abuse suite (test/abuse) and the fleet suite (test/fleet) run the built apps: `pnpm build` first.
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
})
