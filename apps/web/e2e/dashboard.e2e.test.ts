import { mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { WebSocket } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { finished, type Stack, startStack, WAIT, WEB } from './harness'

const SCREENSHOT = resolve(WEB, 'test-results/dashboard.png')
const HISTORY_SCREENSHOT = resolve(WEB, 'test-results/history.png')

describe('dashboard end to end', () => {
  const stamp = `${Date.now()}_${process.pid}`
  let stack: Stack
  let page: Awaited<ReturnType<Stack['newPage']>>
  let port: number

  beforeAll(async () => {
    stack = await startStack()
    port = stack.port
    page = await stack.newPage()
  })

  afterAll(async () => {
    await stack?.close()
  })

  it('follows a job to 100 %: every stock, the failures with reasons, the toast', async () => {
    const taskId = `e2e_full_${stamp}`
    await page.goto(`http://127.0.0.1:${port}/#/tasks/${taskId}`)
    await page.waitForSelector('.connection[data-state="open"]', WAIT)
    await stack.joined(`events:task:${taskId}`)

    const summary = await finished(stack.startWorker(taskId, 300, 100))
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
    expect(stack.problems).toEqual([])
  })

  it('resumes when the gateway restarts mid-job: every stock exactly once, then the run in History', async () => {
    const taskId = `e2e_restart_${stamp}`
    const channel = `events:task:${taskId}`
    const wire = watchWire(taskId)
    await page.goto('about:blank') // a fresh load, so the page's first socket is watched too
    page.on('websocket', wire.watch)
    await page.goto(`http://127.0.0.1:${port}/#/tasks/${taskId}`)
    await stack.joined(channel)
    const worker = stack.startWorker(taskId, 400, 40)
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow')) >= 10,
      undefined,
      WAIT,
    )

    await stack.stopGateway()
    await page.waitForSelector('.connection[data-state="reconnecting"]', WAIT)
    const seenBeforeRestart = wire.stocks.size
    await stack.startGateway()
    await page.waitForSelector('.connection[data-state="open"]', WAIT)

    expect(await finished(worker)).toMatchObject({ status: 'completed', total: 400 })
    await page.waitForSelector('[role="progressbar"][aria-valuenow="100"]', WAIT)
    await page.locator('.toast', { hasText: `Task ${taskId} completed` }).waitFor(WAIT)
    // the wire first, so a shortfall says whether the gateway or the page lost stocks
    await expect.poll(() => wire.stocks.size, { ...WAIT, message: 'stocks on the wire' }).toBe(400)
    page.off('websocket', wire.watch)
    // the restart fell mid-job, the page resumed the task's channel, and the gateway replayed it
    expect(seenBeforeRestart).toBeGreaterThan(0)
    expect(seenBeforeRestart).toBeLessThan(400)
    expect(wire.resumedFrom.get(channel)).toMatch(/^[A-Za-z0-9]+:\d+-\d+$/)
    expect(wire.recovered.get(channel)).toBe(true)
    // every stock reached the wire exactly once, and the page shows each of them
    expect([...wire.stocks].filter(([, times]) => times !== 1)).toEqual([])
    await expect.poll(() => page.textContent('[data-testid="feed-count"]'), WAIT).toBe('400')
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
    expect(stack.problems).toEqual([])
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
})
