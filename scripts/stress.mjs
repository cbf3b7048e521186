// `pnpm test:stress`: runs every test file that talks to processes, sockets, Redis or a browser
// several times while two busy loops load both cores, then the worker's
// mid-job SIGINT case 200 times, and prints a table of runs and failures per file. The output of
// each failed run is kept under test-results/stress/. Exits 1 when anything failed.
//
//   pnpm test:stress [--rounds N] [--signal-loops N] [--only SUBSTRING] [--list]
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const vitest = join(root, 'node_modules/vitest/vitest.mjs')
const logs = join(root, 'test-results/stress')
const SIGNAL_FILE = 'apps/worker/src/main-signals.test.ts'
/** Imports that reach outside the test's process. */
const OUTSIDE = /from '(@stockpulse\/testing|redis|ws|playwright-core|node:child_process|node:net)'/

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'signal-loops': { type: 'string', default: '200' },
    only: { type: 'string' },
    list: { type: 'boolean', default: false },
  },
})
const rounds = positive(values.rounds, '--rounds')
const signalLoops = positive(values['signal-loops'], '--signal-loops')
const files = stressFiles().filter((file) => !values.only || file.includes(values.only))
if (files.length === 0) fail(`no test file matches --only ${values.only}`)
if (values.list) {
  console.log(files.join('\n'))
  process.exit(0)
}

rmSync(logs, { recursive: true, force: true })
mkdirSync(logs, { recursive: true })
const busy = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }))
const stopBusy = () => {
  for (const loop of busy) loop.kill('SIGKILL')
}
process.once('exit', stopBusy)
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130))

const results = new Map(files.map((file) => [file, { runs: 0, failures: 0, seconds: 0 }]))
console.log(`${files.length} files x ${rounds} rounds, two busy loops on the side`)
for (let round = 1; round <= rounds; round++) {
  for (const file of files) await record(file, `round ${round}`, [])
}
if (!values.only || SIGNAL_FILE.includes(values.only)) {
  results.set(`${SIGNAL_FILE} (mid-job SIGINT x ${signalLoops})`, {
    runs: 0,
    failures: 0,
    seconds: 0,
  })
  await record(
    SIGNAL_FILE,
    'signal loop',
    ['-t', 'SIGINTs mid-job'],
    {
      STOCKPULSE_SIGNAL_LOOPS: String(signalLoops),
    },
    `${SIGNAL_FILE} (mid-job SIGINT x ${signalLoops})`,
  )
}
stopBusy()

const rows = [...results].map(([file, r]) => [
  file,
  String(r.runs),
  String(r.failures),
  `${Math.round(r.seconds)} s`,
])
table([['file', 'runs', 'failures', 'time'], ...rows])
const failed = [...results.values()].reduce((sum, r) => sum + r.failures, 0)
if (failed > 0) {
  console.log(`\n${failed} failed runs; their output is in ${relative(root, logs)}/`)
  process.exitCode = 1
} else console.log('\nno failure')

/** Runs one file once in its package with vitest and records the outcome. */
async function record(file, label, args, env = {}, key = file) {
  const [, pkg, name] = /^((?:apps|packages)\/[^/]+|deploy)\/(.+)$/.exec(file)
  const started = performance.now()
  const child = spawn(process.execPath, [vitest, 'run', name, ...args], {
    cwd: join(root, pkg),
    env: { ...process.env, ...env, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
  })
  child.stderr.on('data', (chunk) => {
    output += chunk
  })
  const [code] = await once(child, 'close')
  const result = results.get(key)
  result.runs++
  result.seconds += (performance.now() - started) / 1000
  const ok = code === 0
  if (!ok) {
    result.failures++
    const log = join(
      logs,
      `${key.replace(/[^A-Za-z0-9.-]+/g, '_')}.${label.replace(/ /g, '-')}.log`,
    )
    writeFileSync(log, output)
  }
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${label.padEnd(12)} ${file}`)
}

/**
 * Test files that reach outside their process (other processes, sockets, Redis, a browser),
 * directly or through a test-support module, and the tests of @stockpulse/testing itself.
 */
function stressFiles() {
  const found = []
  const packages = ['apps', 'packages']
    .flatMap((area) => readdirSync(join(root, area)).map((pkg) => join(area, pkg)))
    .concat('deploy')
  for (const pkg of packages) {
    for (const dir of ['src', 'e2e', 'test']) {
      for (const file of walk(join(root, pkg, dir))) {
        const path = relative(root, file)
        if (path.startsWith('packages/testing/') || reachesOut(file)) found.push(path)
      }
    }
  }
  return found.sort()
}

function reachesOut(file, seen = new Set()) {
  if (seen.has(file)) return false
  seen.add(file)
  const source = readFileSync(file, 'utf8')
  if (OUTSIDE.test(source)) return true
  for (const [, path] of source.matchAll(/from '(\.{1,2}\/[^']*test-support\/[^']+)'/g)) {
    const target = join(dirname(file), path.replace(/\.js$/, '.ts'))
    const candidates = target.endsWith('.ts') ? [target] : [`${target}.ts`]
    if (candidates.some((candidate) => exists(candidate) && reachesOut(candidate, seen)))
      return true
  }
  return false
}

function exists(path) {
  try {
    return readFileSync(path) !== undefined
  } catch {
    return false
  }
}

function* walk(dir) {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return
  }
  for (const entry of entries) {
    const path = join(dir, entry.name)
    if (entry.isDirectory() && entry.name !== 'node_modules') yield* walk(path)
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) yield path
  }
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)))
  const line = (row) =>
    `| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`
  console.log(`\n${line(rows[0])}`)
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`)
  for (const row of rows.slice(1)) console.log(line(row))
}

function positive(text, name) {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1)
    fail(`${name} must be an integer of at least 1, got "${text}"`)
  return value
}

function fail(message) {
  console.error(`test:stress: ${message}`)
  process.exit(2)
}
