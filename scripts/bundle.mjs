// `pnpm bundle`: the production bundles of the worker and the gateway, each a directory that runs
// with `node dist/main.js` and nothing else from this repository: the built app and its
// production dependencies (`pnpm deploy`), and for the gateway the built dashboard in `public/`
// (its STATIC_DIR). The Dockerfiles' build stages run exactly these commands, with --out /out;
// deploy/src/bundle.test.ts checks that and runs each bundle from an empty directory.
//
//   pnpm bundle [--out DIR] [--dry-run] [worker] [gateway]     (default: out/, both apps)
//
// --no-optional keeps the root's optional `talib` (benchmarks only, a native build) out of the
// bundles; --config.hoist=false leaves out node_modules/.pnpm/node_modules, whose link to the
// app's own source directory would dangle in a copied bundle (every dependency is declared, none
// needs hoisting). An existing DIR/worker or DIR/gateway is replaced.
import { spawnSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

const DEPLOY = ['--prod', '--legacy', '--no-optional', '--config.hoist=false']

/** The commands that make each app's bundle in `out`, run from the repository root. */
const COMMANDS = {
  worker: (out) => [
    ['pnpm', 'install', '--frozen-lockfile'],
    ['pnpm', 'turbo', 'run', 'build', '--filter=@stockpulse/worker...'],
    ['pnpm', '--filter', '@stockpulse/worker', 'deploy', ...DEPLOY, join(out, 'worker')],
  ],
  gateway: (out) => [
    ['pnpm', 'install', '--frozen-lockfile'],
    [
      'pnpm',
      'turbo',
      'run',
      'build',
      '--filter=@stockpulse/gateway...',
      '--filter=@stockpulse/web',
    ],
    ['pnpm', '--filter', '@stockpulse/gateway', 'deploy', ...DEPLOY, join(out, 'gateway')],
    ['cp', '-R', 'apps/web/dist', join(out, 'gateway', 'public')],
  ],
}
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string', default: 'out' },
    'dry-run': { type: 'boolean', default: false },
  },
})
const apps = positionals.length > 0 ? positionals : Object.keys(COMMANDS)
for (const app of apps) {
  if (!Object.hasOwn(COMMANDS, app)) fail(`unknown app "${app}": expected worker or gateway`)
}
// Absolute unless it already is: the Dockerfiles say /out, a developer says out.
const out = values.out.startsWith('/') ? values.out : resolve(root, values.out)
// Each command once, in order (both apps install the same way).
const commands = [
  ...new Map(apps.flatMap((app) => COMMANDS[app](out)).map((argv) => [argv.join(' '), argv])),
]

if (values['dry-run']) {
  process.stdout.write(`${commands.map(([line]) => line).join('\n')}\n`)
  process.exit(0)
}
for (const app of apps) rmSync(join(out, app), { recursive: true, force: true })
for (const [line, [file, ...args]] of commands) {
  process.stderr.write(`bundle: ${line}\n`)
  const result = spawnSync(file, args, { cwd: root, stdio: 'inherit' })
  if (result.status !== 0)
    fail(`"${line}" failed (${result.error?.message ?? `exit ${result.status}`})`)
}
process.stderr.write(`bundle: ${apps.map((app) => join(out, app)).join(', ')}\n`)

function fail(message) {
  process.stderr.write(`bundle: ${message}\n`)
  process.exit(1)
}
