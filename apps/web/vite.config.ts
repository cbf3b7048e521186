import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vitest/config'

/** The gateway `vite dev` proxies to; start it with PORT=8000 or point GATEWAY_URL elsewhere. */
const gateway = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8000'

export default defineConfig({
  base: './',
  plugins: [vue()],
  server: {
    proxy: {
      '/ws': { target: gateway, ws: true },
      '/healthz': { target: gateway },
      '/api': { target: gateway },
    },
  },
  test: {
    projects: [
      {
        extends: true,
        // Limits sized for a loaded 2-core CI machine; each wait has its own named deadline.
        test: {
          name: 'unit',
          environment: 'happy-dom',
          include: ['src/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        // `pnpm screenshots` only: the pictures of README.md and docs/, not a test.
        test: {
          name: 'screenshots',
          environment: 'node',
          include: ['e2e/**/*.shoot.ts'],
          testTimeout: 180_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['e2e/**/*.e2e.test.ts'],
          testTimeout: 55_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
})
