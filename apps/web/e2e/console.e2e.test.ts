import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { finished, type Stack, startStack, WAIT, type WorkerSummary } from './harness'

/** A task page's numbers, as shown. */
interface Shown {
  readonly processed: string
  readonly failed: string
  readonly feed: string
  readonly failureRows: number
  /** Seconds. */
  readonly elapsed: number
}

/** One line of the worker's `--out` results (`.jsonl`). */
interface OutLine {
  readonly stock_code: string
  readonly latest: Record<string, Record<string, number | null>>
  readonly errors?: ReadonlyArray<{ indicator?: string; reason: string }>
}

/** A page opened late must match a page that watched the whole task within this long. */
const CATCH_UP_MS = 2_000

describe('the operator console end to end', () => {
  const stamp = `${Date.now()}_${process.pid}`
  const taskId = `e2e_whole_${stamp}`
  let stack: Stack
  let dir: string
  let summary: WorkerSummary

  beforeAll(async () => {
    stack = await startStack()
    dir = await mkdtemp(join(tmpdir(), 'console-e2e-'))
  })

  afterAll(async () => {
    await stack?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('shows a page opened at 60 % of a 2,000-stock job what a page that watched it all shows, and again after a reload', async () => {
    const url = `${stack.origin}/#/tasks/${taskId}`
    const watcher = await stack.newPage()
    await watcher.goto(url)
    await watcher.waitForSelector('.connection[data-state="open"]', WAIT)
    await stack.joined(`events:task:${taskId}`)
    const worker = stack.startWorker(taskId, 2_000, 400, ['--out', join(dir, 'results.jsonl')])
    await watcher.waitForFunction(
      () =>
        Number(document.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow')) >= 60,
      undefined,
      WAIT,
    )
    // Held still at ~60 %, so that both pages can be compared on the same events (the watcher
    // gets the few in flight meanwhile).
    worker.kill('SIGSTOP')
    let late: Page
    try {
      late = await stack.newPage()
      await late.goto(url)
      await expectSame(late, watcher, 'the page opened at 60 %')
      const atSixty = await shown(late)
      expect(Number(atSixty.feed.replaceAll(',', ''))).toBeGreaterThanOrEqual(1_200)
      expect(Number(atSixty.feed.replaceAll(',', ''))).toBeLessThan(2_000)
    } finally {
      worker.kill('SIGCONT')
    }
    summary = await finished(worker)
    expect(summary).toMatchObject({ status: 'completed', total: 2_000 })
    expect(summary.failures.length).toBeGreaterThan(0)

    for (const page of [watcher, late]) {
      await page.waitForSelector('[role="progressbar"][aria-valuenow="100"]', WAIT)
      await expect
        .poll(() => shown(page), WAIT)
        .toMatchObject({
          processed: '2,000 / 2,000',
          failed: summary.failed.toLocaleString('en-US'),
          feed: '2,000',
          failureRows: summary.failures.length,
        })
      expect(Math.abs((await shown(page)).elapsed - summary.duration_seconds)).toBeLessThanOrEqual(
        1,
      )
    }
    await expectSame(late, watcher, 'the page that saw the end')
    await late.reload()
    await expectSame(late, watcher, 'the finished task reloaded')
    await late.getByRole('link', { name: 'History', exact: true }).click()
    await late.locator(`.runs tr[data-task="${taskId}"] a`).click()
    await expectSame(late, watcher, 'the task opened from History')
    await late.close()
    await watcher.close()
    expect(stack.problems).toEqual([])
  })

  it("shows a stock's stored values after the job, equal to the worker's --out results, failed indicators with reasons", async () => {
    expect(summary, 'the job of the first test').toBeDefined()
    const lines = (await readFile(join(dir, 'results.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as OutLine)
    const failing = lines.find((line) => line.errors?.some((error) => error.indicator))
    const healthy = lines.find((line) => !line.errors)
    expect(failing, 'a stock with a failed indicator').toBeDefined()
    const page = await stack.newPage()
    for (const expected of [failing!, healthy!]) {
      await page.goto(`${stack.origin}/#/stocks/${expected.stock_code}`)
      await page
        .locator('[data-testid="stock-source"]', { hasText: `Stored by task ${taskId}` })
        .waitFor(WAIT)
      const values = await page.$$eval('td[data-value]', (cells) =>
        Object.fromEntries(cells.map((cell) => [cell.dataset.value, cell.dataset.raw])),
      )
      expect(values).toEqual(
        Object.fromEntries(
          Object.entries(expected.latest).flatMap(([indicator, outputs]) =>
            Object.entries(outputs).map(([output, value]) => [
              `${indicator}.${output}`,
              String(value),
            ]),
          ),
        ),
      )
      const failed = await page.locator('.stock-failures li').allTextContents()
      expect(failed).toEqual(
        (expected.errors ?? []).map(
          (error) => `${error.indicator ?? 'whole stock'}${error.reason}`,
        ),
      )
    }
    await page.close()
    expect(stack.problems).toEqual([])
  })

  // ---- Helpers ----

  /** `page` shows the numbers of `reference` within CATCH_UP_MS (Elapsed within 1 s). */
  async function expectSame(page: Page, reference: Page, what: string) {
    const since = Date.now()
    await expect
      .poll(
        async () => {
          const [mine, theirs] = await Promise.all([shown(page), shown(reference)])
          return (
            mine.processed === theirs.processed &&
            mine.failed === theirs.failed &&
            mine.feed === theirs.feed &&
            mine.failureRows === theirs.failureRows &&
            Math.abs(mine.elapsed - theirs.elapsed) <= 1
          )
        },
        { timeout: CATCH_UP_MS, message: `${what} shows the numbers of the page that watched` },
      )
      .toBe(true)
    const [mine, theirs] = await Promise.all([shown(page), shown(reference)])
    expect({ ...mine, elapsed: 0 }, `${what} after ${Date.now() - since} ms`).toEqual({
      ...theirs,
      elapsed: 0,
    })
  }
})

/** What a task page shows. */
async function shown(page: Page): Promise<Shown> {
  const text = (id: string) =>
    page
      .locator(`[data-testid="${id}"]`)
      .first()
      .textContent({ timeout: 1_000 })
      .then((value) => value?.trim().replace(/\s+/g, ' ') ?? '')
      .catch(() => '')
  const [processed, failed, feed, elapsed, failureRows] = await Promise.all([
    text('task-processed'),
    text('task-failed'),
    text('feed-count'),
    text('task-elapsed'),
    page.locator('.failures li').count(),
  ])
  return { processed, failed, feed, failureRows, elapsed: seconds(elapsed) }
}

/** "12.3 s", "1 m 05 s" or "2 h 01 m" in seconds; NaN for anything else. */
function seconds(text: string): number {
  const parts = /^(?:(\d+) h )?(?:(\d+) m )?(?:([\d.]+) s)?$/.exec(
    text.replace(/(\d+) m$/, '$1 m '),
  )
  if (!parts || text === '') return Number.NaN
  const [, h = '0', m = '0', s = '0'] = parts
  return Number(h) * 3600 + Number(m) * 60 + Number(s)
}
