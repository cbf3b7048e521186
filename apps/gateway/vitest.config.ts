import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // The abuse suite (test/abuse) runs the built gateway: `pnpm build` first.
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
