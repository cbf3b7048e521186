// `pnpm worker ...` and `pnpm gateway ...`: the app's CLI (stockpulse-worker, stockpulse-gateway)
// from this checkout. It is built first (turbo: a cached no-op when nothing changed; its output
// goes to stderr, so a CLI's stdout, e.g. `run --json`, stays its own), then run with the
// arguments as given. Signals reach the CLI, and its exit code is this script's.
//
//   node scripts/cli.mjs <worker|gateway> [arguments of the CLI]
import { spawn, spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const APPS = new Set(['worker', 'gateway'])
const [app, ...args] = process.argv.slice(2)
if (!APPS.has(app)) {
  console.error(`usage: node scripts/cli.mjs <${[...APPS].join('|')}> [arguments]`)
  process.exit(2)
}

const build = spawnSync(
  'pnpm',
  ['turbo', 'run', 'build', `--filter=@stockpulse/${app}...`, '--output-logs=errors-only'],
  { cwd: root, stdio: ['ignore', process.stderr, process.stderr] },
)
if (build.status !== 0) {
  console.error(`${app}: the build failed (exit ${build.status ?? build.signal}), not started`)
  process.exit(1)
}

const child = spawn(process.execPath, [join(root, 'apps', app, 'dist', 'main.js'), ...args], {
  stdio: 'inherit',
})
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal))
}
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal)
  else process.exit(code ?? 1)
})
