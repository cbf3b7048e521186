import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  freePort,
  type NodeProcess,
  type RedisServer,
  startNode,
  startRedisServer,
  until,
} from '@stockpulse/testing'
import { type Browser, chromium, type Page } from 'playwright-core'
import { expect } from 'vitest'

// The built gateway serving the built dashboard over a private redis-server, the built worker,
// and headless Chromium: what the e2e tests and the screenshot script run against.

export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const GATEWAY_MAIN = resolve(WEB, '../gateway/dist/main.js')
const WORKER_MAIN = resolve(WEB, '../worker/dist/main.js')
const STATIC_DIR = resolve(WEB, 'dist')
const CHROMIUM = '/usr/bin/chromium'
export const WAIT = { timeout: 30_000 }
export const DESKTOP = { width: 1280, height: 900 }
export const PHONE = { width: 390, height: 844 }

/** The worker's `run --json` summary, as far as the tests read it. */
export interface WorkerSummary {
  readonly status: string
  readonly total: number
  readonly failed: number
  readonly duration_seconds: number
  readonly failures: ReadonlyArray<{ stock_code: string; indicator?: string; reason: string }>
}

export interface Stack {
  readonly redis: RedisServer
  readonly port: number
  readonly browser: Browser
  /** The page's origin, e.g. `http://127.0.0.1:41234`. */
  readonly origin: string
  /** Stops the gateway (SIGTERM, exit 0 expected) and starts it again. */
  stopGateway(): Promise<void>
  startGateway(): Promise<void>
  /** `stockpulse-worker run` for `stocks` stocks at `pace` per second, with `extra` arguments. */
  startWorker(taskId: string, stocks: number, pace: number, extra?: readonly string[]): NodeProcess
  /** `stockpulse-worker serve`: takes the runs the dashboard starts from the queue; ready when it returns. */
  startServe(extra?: readonly string[]): Promise<NodeProcess>
  /** A new page at `viewport` that records page errors, `[event-stream]` warnings and CSP breaks. */
  newPage(viewport?: { width: number; height: number }): Promise<Page>
  /** What the pages reported; a test expects none. */
  readonly problems: string[]
  /** Resolves once the gateway counts a subscriber on `channel`, so no event is published unseen. */
  joined(channel: string): Promise<void>
  close(): Promise<void>
}

export async function startStack(): Promise<Stack> {
  for (const file of [GATEWAY_MAIN, WORKER_MAIN, resolve(STATIC_DIR, 'index.html')]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`pnpm build\` first.`)
  }
  const redis = await startRedisServer()
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const problems: string[] = []
  let gateway: NodeProcess | undefined

  async function startGateway() {
    const child = startNode(GATEWAY_MAIN, [], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL: redis.url,
        STATIC_DIR,
        LOG_LEVEL: 'warn',
      },
    })
    gateway = child
    await until(
      async () => {
        if (child.child.exitCode !== null) {
          throw new Error(`the gateway exited with ${child.child.exitCode}: ${child.stderr}`)
        }
        const health = await fetch(`${origin}/healthz`).catch(() => undefined)
        return health?.ok === true
      },
      'the gateway to be healthy',
      30_000,
    )
  }

  async function stopGateway() {
    const child = gateway
    gateway = undefined
    if (!child) return
    child.kill('SIGTERM')
    await child.expectExit(0)
  }

  await startGateway()
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  })

  return {
    redis,
    port,
    browser,
    origin,
    problems,
    startGateway,
    stopGateway,
    startWorker(taskId, stocks, pace, extra = []) {
      return startNode(WORKER_MAIN, [
        'run',
        ...['--stocks', String(stocks), '--pace', String(pace), '--task-id', taskId],
        ...['--redis', redis.url, '--log-level', 'warn', '--json', ...extra],
      ])
    },
    async startServe(extra = []) {
      const serve = startNode(WORKER_MAIN, [
        'serve',
        ...['--redis', redis.url, '--log-level', 'warn', '--heartbeat', '1', ...extra],
      ])
      await until(
        async () => {
          if (serve.child.exitCode !== null) {
            throw new Error(`the serve worker exited with ${serve.child.exitCode}: ${serve.stderr}`)
          }
          const answer = await fetch(`${origin}/api/workers`).catch(() => undefined)
          const body = (await answer?.json().catch(() => undefined)) as
            | { workers?: unknown[] }
            | undefined
          return (body?.workers?.length ?? 0) > 0
        },
        'the serve worker to be listed by GET /api/workers',
        30_000,
      )
      return serve
    },
    async newPage(viewport = DESKTOP) {
      const page = await browser.newPage({ viewport })
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
      page.on('console', (message) => {
        const text = message.text()
        // The gateway serves the page with a Content-Security-Policy: nothing may break it.
        if (text.includes('[event-stream]') || text.includes('Content Security Policy')) {
          problems.push(text)
        }
      })
      return page
    },
    async joined(channel) {
      await expect
        .poll(async () => {
          const stats = await (await fetch(`${origin}/ws/stats`)).json()
          return (stats as { channels: Record<string, number> }).channels[channel] ?? 0
        }, WAIT)
        .toBeGreaterThan(0)
    },
    async close() {
      await browser.close()
      await stopGateway()
      await redis.stop()
    },
  }
}

/** Waits for the worker to exit 0 and returns its `--json` summary. */
export async function finished(worker: NodeProcess): Promise<WorkerSummary> {
  await worker.expectExit(0, 60_000)
  return JSON.parse(worker.stdout.trim().split('\n').at(-1) ?? '') as WorkerSummary
}
