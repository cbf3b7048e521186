import { defineConfig } from 'vitest/config'

// Sized for a loaded 2-core CI machine: each test starts the demo (two services) or `pnpm start`.
export default defineConfig({ test: { testTimeout: 90_000, hookTimeout: 30_000 } })
