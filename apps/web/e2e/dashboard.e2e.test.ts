import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
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
import { type Browser, chromium, type Page, type WebSocket } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const GATEWAY_MAIN = resolve(WEB, '../gateway/dist/main.js')
const WORKER_MAIN = resolve(WEB, '../worker/dist/main.js')
const STATIC_DIR = resolve(WEB, 'dist')
const SCREENSHOT = resolve(WEB, 'test-results/dashboard.png')
const HISTORY_SCREENSHOT = resolve(WEB, 'test-results/history.png')
const CHROMIUM = '/usr/bin/chromium'
const WAIT = { timeout: 30_000 }

/** The worker's `run --json` summary, as far as this test reads it. */
interface WorkerSummary {
  readonly status: string
  readonly total: number
  readonly failed: number
  readonly failures: ReadonlyArray<{ stock_code: string; indicator?: string; reason: string }>
}

describe('dashboard end to end', () => {
  const stamp = `${Date.now()}_${process.pid}`
  let redis: RedisServer
  let port: number
  let gateway: NodeProcess
  let browser: Browser
  let page: Page
  const pageProblems: string[] = []

  beforeAll(async () => {
    for (const file of [GATEWAY_MAIN, WORKER_MAIN, resolve(STATIC_DIR, 'index.html')]) {
      if (!existsSync(file)) throw new Error(`${file} is missing: run \`pnpm build\` first.`)
    }
    redis = await startRedisServer()
    port = await freePort()
    gateway = await startGateway()
    browser = await chromium.launch({
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
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.on('pageerror', (error) => pageProblems.push(`page error: ${error.message}`))
    page.on('console', (message) => {
      const text = message.text()
      // The gateway serves the page with a Content-Security-Policy: nothing may break it.
      if (text.includes('[event-stream]') || text.includes('Content Security Policy')) {
        pageProblems.push(text)
      }
    })
  })

  afterAll(async () => {
    await browser?.close()
    if (gateway) await stopGateway(gateway)
    await redis?.stop()
  })

  it('follows a job to 100 %: every stock, the failures with reasons, the toast', async () => {
    const taskId = `e2e_full_${stamp}`
    await page.goto(`http://127.0.0.1:${port}/#/tasks/${taskId}`)
    await page.waitForSelector('.connection[data-state="open"]', WAIT)
    await joined(`events:task:${taskId}`)

    const summary = await finished(startWorker(taskId, 300, 100))
    expect(summary).toMatchObject({ status: 'completed', total: 300 })
    expect(summary.failures.length).toBeGreaterThan(0)

    await page.waitForSelector('[role="progressbar"][aria-valuenow="100"]', WAIT)
    const toast = page.locator('.toasts[role="status"] .toast', { hasText: `Task ${taskId}` })
    await toast.waitFor(WAIT)
    expect(await toast.textContent()).toContain(`Task ${taskId} completed`)
    await expect.poll(() => page.textContent('[data-testid="feed-count"]'), WAIT).toBe('300')
    expect(await page.getAttribute('.feed[role="table"]', 'aria-rowcount')).toBe('301')

    const failures = await page.locator('.failures li').allTextContents()
    expect(failures).toHaveLength(summary.failures.length)
    for (const failure of summary.failures) {
      expect(failures).toContainEqual(expect.stringContaining(failure.reason))
      expect(failures).toContainEqual(expect.stringContaining(failure.stock_code))
    }
    await page.getByRole('button', { name: 'Failed stocks', exact: true }).click()
    expect(await page.getAttribute('.feed[role="table"]', 'aria-rowcount')).toBe(
      String(summary.failed + 1),
    )
    await page.getByRole('button', { name: 'All', exact: true }).click()

    await mkdir(dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true, animations: 'disabled' })
    expect(pageProblems).toEqual([])
  })

  it('resumes when the gateway restarts mid-job: every stock exactly once, then the run in History', async () => {
    const taskId = `e2e_restart_${stamp}`
    const channel = `events:task:${taskId}`
    const wire = watchWire(taskId)
    await page.goto('about:blank') // a fresh load, so the page's first socket is watched too
    page.on('websocket', wire.watch)
    await page.goto(`http://127.0.0.1:${port}/#/tasks/${taskId}`)
    await joined(channel)
    const worker = startWorker(taskId, 400, 40)
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow')) >= 10,
      undefined,
      WAIT,
    )

    await stopGateway(gateway)
    await page.waitForSelector('.connection[data-state="reconnecting"]', WAIT)
    const seenBeforeRestart = wire.stocks.size
    gateway = await startGateway()
    await page.waitForSelector('.connection[data-state="open"]', WAIT)

    expect(await finished(worker)).toMatchObject({ status: 'completed', total: 400 })
    await page.waitForSelector('[role="progressbar"][aria-valuenow="100"]', WAIT)
    await page.locator('.toast', { hasText: `Task ${taskId} completed` }).waitFor(WAIT)
    await expect.poll(() => page.textContent('[data-testid="feed-count"]'), WAIT).toBe('400')
    page.off('websocket', wire.watch)
    // the restart fell mid-job, the page resumed the task's channel, and the gateway replayed it
    expect(seenBeforeRestart).toBeGreaterThan(0)
    expect(seenBeforeRestart).toBeLessThan(400)
    expect(wire.resumedFrom.get(channel)).toMatch(/^[A-Za-z0-9]+:\d+-\d+$/)
    expect(wire.recovered.get(channel)).toBe(true)
    // every stock reached the page exactly once
    expect(wire.stocks.size).toBe(400)
    expect([...wire.stocks].filter(([, times]) => times !== 1)).toEqual([])
    expect(await page.locator('.banner').count()).toBe(0)

    await page.getByRole('link', { name: 'History', exact: true }).click()
    const run = page.locator(`.runs tr[data-task="${taskId}"]`)
    await run.waitFor(WAIT)
    expect(await run.locator('td').allTextContents()).toEqual([
      expect.any(String),
      taskId,
      'completed',
      expect.stringMatching(/ s$/),
      '400',
      expect.stringMatching(/^\d+$/),
      expect.stringMatching(/\/s$/),
    ])
    await page.screenshot({ path: HISTORY_SCREENSHOT, fullPage: true, animations: 'disabled' })
    expect(pageProblems).toEqual([])
  })

  // ---- Helpers ----

  /**
   * Reads the page's WebSocket traffic: how often each stock of `taskId` arrived, the `since` of
   * each channel the page resumed, and what the gateway's acks said about recovering it.
   */
  function watchWire(taskId: string) {
    const stocks = new Map<string, number>()
    const resumedFrom = new Map<string, string>()
    const recovered = new Map<string, boolean>()
    const received = (payload: string | Buffer) => {
      const message = JSON.parse(String(payload))
      for (const event of message.type === 'batch' ? message.events : [message]) {
        if (event.event_type === 'stock.indicators.completed' && event.task_id === taskId)
          stocks.set(event.stock_code, (stocks.get(event.stock_code) ?? 0) + 1)
      }
      for (const result of message.type === 'subscribed' ? message.results : []) {
        if (result.recovered !== undefined) recovered.set(result.channel, result.recovered)
      }
    }
    const sent = (payload: string | Buffer) => {
      const frame = JSON.parse(String(payload))
      for (const [channel, since] of Object.entries(frame.since ?? {}))
        resumedFrom.set(channel, String(since))
    }
    const watch = (socket: WebSocket) => {
      socket.on('framereceived', ({ payload }) => received(payload))
      socket.on('framesent', ({ payload }) => sent(payload))
    }
    return { stocks, resumedFrom, recovered, watch }
  }

  async function startGateway(): Promise<NodeProcess> {
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
    await until(
      async () => {
        if (child.child.exitCode !== null) {
          throw new Error(`the gateway exited with ${child.child.exitCode}: ${child.stderr}`)
        }
        const health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined)
        return health?.ok === true
      },
      'the gateway to be healthy',
      30_000,
    )
    return child
  }

  async function stopGateway(child: NodeProcess): Promise<void> {
    child.kill('SIGTERM')
    await child.expectExit(0)
  }

  /** Resolves once the gateway counts a subscriber on `channel`, so no event is published unseen. */
  async function joined(channel: string): Promise<void> {
    await expect
      .poll(async () => {
        const stats = await (await fetch(`http://127.0.0.1:${port}/ws/stats`)).json()
        return (stats as { channels: Record<string, number> }).channels[channel] ?? 0
      }, WAIT)
      .toBeGreaterThan(0)
  }

  function startWorker(taskId: string, stocks: number, pace: number): NodeProcess {
    return startNode(WORKER_MAIN, [
      'run',
      ...['--stocks', String(stocks), '--pace', String(pace), '--task-id', taskId],
      ...['--redis', redis.url, '--log-level', 'warn', '--json'],
    ])
  }

  async function finished(worker: NodeProcess): Promise<WorkerSummary> {
    await worker.expectExit(0, 60_000)
    return JSON.parse(worker.stdout.trim().split('\n').at(-1) ?? '') as WorkerSummary
  }
})
