import { cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { freePort, type NodeProcess, startNode, until } from '@stockpulse/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AclRedis, startAclRedis } from './test-support/acl-redis.js'
import { argsOf, envOf, execForm, readDockerfile, type Stage } from './test-support/dockerfile.js'
import { REPO } from './test-support/paths.js'
import { run } from './test-support/run.js'

const APPS = ['worker', 'gateway'] as const
type App = (typeof APPS)[number]

/** Variables a build or a container starts with: nothing of this test run's own. */
const BASE_ENV = pick(process.env, ['PATH', 'HOME', 'LANG', 'TMPDIR', 'PNPM_HOME', 'XDG_DATA_HOME'])

// `pnpm bundle` on a copy of the repository's files (what a Docker build context holds), then
// each bundle copied to an empty directory and run there the way its Dockerfile runs it: its ENV,
// ENTRYPOINT, CMD and HEALTHCHECK, against a private Redis started as compose starts it (with
// deploy/redis/users.acl), each app as its own Redis user.
describe('bundles', () => {
  let work: string
  let out: string
  let redis: AclRedis
  const images = Object.fromEntries(
    APPS.map((app) => [app, readDockerfile(join(REPO, 'apps', app, 'Dockerfile'))]),
  ) as Record<App, Stage[]>

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'stockpulse-bundle-'))
    const context = join(work, 'context')
    out = join(work, 'out')
    await copyBuildContext(context)
    const bundled = await run(process.execPath, ['scripts/bundle.mjs', '--out', out], {
      cwd: context,
      env: BASE_ENV,
      timeoutMs: 600_000,
    })
    expect(bundled.code, tail(bundled.stderr + bundled.stdout)).toBe(0)
    redis = await startAclRedis(work)
  }, 660_000)
  afterAll(async () => {
    await redis?.stop()
    await rm(work, { recursive: true, force: true })
  })

  it.each(APPS)(
    'the %s Dockerfile builds with the commands of pnpm bundle, nothing else',
    async (app) => {
      const [build, runtime] = images[app]
      const version = (
        JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as {
          packageManager: string
        }
      ).packageManager.split('@')[1]
      const dryRun = await run(process.execPath, [
        join(REPO, 'scripts/bundle.mjs'),
        '--dry-run',
        '--out',
        '/out',
        app,
      ])
      expect(dryRun.code, dryRun.stderr).toBe(0)
      // The first RUN provides pnpm, as .ci/run does when it is missing.
      expect(argsOf(build!, 'RUN')).toEqual([
        `npm install --global --no-fund --no-audit pnpm@${version}`,
        ...dryRun.stdout.trim().split('\n'),
      ])
      expect(await readFile(join(REPO, '.ci/run'), 'utf8')).toContain(
        'npm install --global --no-fund --no-audit "pnpm@$pnpm_version"',
      )
      expect(build!.from).toBe('node:20-slim AS build')
      expect(runtime!.from).toBe('node:20-slim')
      expect(argsOf(runtime!, 'RUN')).toEqual([])
      expect(argsOf(runtime!, 'COPY')).toEqual([`--from=build /out/${app} /app`])
      expect(argsOf(runtime!, 'WORKDIR')).toEqual(['/app'])
      expect(argsOf(runtime!, 'USER')).toEqual(['node'])
      expect(argsOf(runtime!, 'HEALTHCHECK')).toHaveLength(1)
    },
  )

  it('runs the worker bundle from an empty directory: run --stocks 50 --json', async () => {
    const dir = await copyBundle('worker')
    const runtime = images.worker[1]!
    const [node, ...entry] = execForm(argsOf(runtime, 'ENTRYPOINT')[0]!)
    expect(node).toBe('node')
    const job = await run(process.execPath, [...entry, 'run', '--stocks', '50', '--json'], {
      cwd: dir,
      env: { ...BASE_ENV, ...envOf(runtime), REDIS_URL: redis.url('stockpulse-worker') },
    })
    expect(job.code, tail(job.stderr)).toBe(0)
    expect(JSON.parse(job.stdout)).toMatchObject({
      status: 'completed',
      total: 50,
      processed: 50,
      events_dropped: 0,
    })
  })

  it('runs the worker bundle as its image does: serve, healthy on METRICS_PORT', async () => {
    const dir = await copyBundle('worker')
    const runtime = images.worker[1]!
    const env = {
      ...BASE_ENV,
      ...envOf(runtime),
      REDIS_URL: redis.url('stockpulse-worker'),
      METRICS_PORT: String(await freePort()),
      METRICS_HOST: '127.0.0.1',
    }
    const worker = startContainerLike(dir, runtime, env)
    try {
      await worker.waitFor('"msg":"worker serving"', 'the worker bundle to serve')
      expect(await healthcheck(dir, runtime, env)).toBe(0)
      worker.kill('SIGTERM')
      await worker.expectExit(0)
      expect(await healthcheck(dir, runtime, env)).toBe(1)
    } finally {
      await worker.stop()
    }
  })

  it('runs the gateway bundle as its image does: /healthz and the dashboard', async () => {
    const dir = await copyBundle('gateway')
    const runtime = images.gateway[1]!
    expect(envOf(runtime).STATIC_DIR).toBe('/app/public')
    const port = await freePort()
    const env = {
      ...BASE_ENV,
      ...envOf(runtime),
      PORT: String(port),
      HOST: '127.0.0.1',
      STATIC_DIR: join(dir, 'public'),
      REDIS_URL: redis.url('stockpulse-gateway'),
    }
    const gateway = startContainerLike(dir, runtime, env)
    try {
      await gateway.waitFor('"msg":"listening"', 'the gateway bundle to listen')
      await until(
        async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200,
        'the gateway bundle to be healthy',
        15_000,
      )
      expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toMatchObject({
        status: 'ok',
      })
      const page = await fetch(`http://127.0.0.1:${port}/`)
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toMatch(/^text\/html/)
      const html = await page.text()
      expect(html).toContain('<div id="app">')
      const script = /<script[^>]+src="([^"]+)"/.exec(html)?.[1]
      expect(script).toBeDefined()
      const asset = await fetch(new URL(script!, `http://127.0.0.1:${port}/`))
      expect(asset.status).toBe(200)
      expect(await asset.text()).toContain('events:tasks')
      expect(await healthcheck(dir, runtime, env)).toBe(0)
      gateway.kill('SIGTERM')
      await gateway.expectExit(0)
      expect(await healthcheck(dir, runtime, env)).toBe(1)
    } finally {
      await gateway.stop()
    }
  })

  // Copies out/<app> to a new empty directory; no link in it may point outside it.
  async function copyBundle(app: App): Promise<string> {
    const dir = await mkdtemp(join(work, `run-${app}-`))
    await cp(join(out, app), dir, { recursive: true, verbatimSymlinks: true })
    const escaping: string[] = []
    for (const file of await walk(dir)) {
      if (!(await lstat(file)).isSymbolicLink()) continue
      const target = resolve(dirname(file), await readlink(file))
      if (relative(dir, target).startsWith('..')) escaping.push(`${file} -> ${target}`)
    }
    expect(escaping).toEqual([])
    return dir
  }
})

// The files a Docker build gets: those git tracks or would track (.gitignore and .dockerignore
// leave out the same generated directories), as they are in the working tree.
async function copyBuildContext(context: string): Promise<void> {
  const listed = await run(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: REPO,
    },
  )
  expect(listed.code, listed.stderr).toBe(0)
  const files = [...new Set(listed.stdout.split('\0').filter(Boolean))]
  for (const file of files) {
    const from = join(REPO, file)
    if (!(await lstat(from).catch(() => undefined))) continue // deleted in the working tree
    await mkdir(dirname(join(context, file)), { recursive: true })
    await cp(from, join(context, file), { verbatimSymlinks: true })
  }
}

// `node` with the image's ENTRYPOINT and CMD, in the bundle's directory.
function startContainerLike(dir: string, runtime: Stage, env: NodeJS.ProcessEnv): NodeProcess {
  const [node, ...entry] = execForm(argsOf(runtime, 'ENTRYPOINT')[0]!)
  expect(node).toBe('node')
  const command = argsOf(runtime, 'CMD').flatMap((args) => execForm(args))
  return startNode(entry[0]!, [...entry.slice(1), ...command], { cwd: dir, env })
}

// Runs the image's HEALTHCHECK command; resolves with its exit code.
async function healthcheck(dir: string, runtime: Stage, env: NodeJS.ProcessEnv): Promise<number> {
  const [node, ...args] = execForm(argsOf(runtime, 'HEALTHCHECK')[0]!)
  expect(node).toBe('node')
  return (await run(process.execPath, args, { cwd: dir, env, timeoutMs: 10_000 })).code
}

async function walk(dir: string): Promise<string[]> {
  const files: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    files.push(path)
    if (entry.isDirectory()) files.push(...(await walk(path)))
  }
  return files
}

function pick(env: NodeJS.ProcessEnv, names: readonly string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(names.flatMap((name) => (env[name] ? [[name, env[name]]] : [])))
}

function tail(text: string): string {
  return text.length > 4_000 ? `...${text.slice(-4_000)}` : text
}
