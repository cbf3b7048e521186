import type { NodeProcess } from '@stockpulse/testing'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Stack, startStack, WAIT } from './harness'

// Start, Cancel and Re-run by clicking, against the gateway's run API (auth off: every scope)
// and a serve worker taking the runs from the queue on the stack's redis-server.

/** Most stocks a run may have: long enough that a cancel lands while it runs. */
const STOCKS = 100_000

describe('runs from the dashboard', () => {
  let stack: Stack
  let serve: NodeProcess | undefined

  beforeAll(async () => {
    stack = await startStack()
    serve = await stack.startServe(['--concurrency', '1', '--instance-id', 'e2e-serve'])
  })

  afterAll(async () => {
    await serve?.stop()
    await stack?.close()
  })

  it('starts, cancels and re-runs a run by clicking; a refused start shows its reason', async () => {
    const page = await stack.newPage()
    await page.goto(`${stack.origin}/#/`)
    // The front page shows the schedule the serve worker set up (GET /api/schedule).
    await page.locator('[data-testid="next-run"] code').waitFor(WAIT)
    await page.getByTestId('start-run').click()
    await page.fill('input[name="stocks"]', String(STOCKS))
    await page.getByRole('button', { name: 'Start', exact: true }).click()
    const taskId = await submitted(page)
    await page.waitForURL(`**/#/tasks/${taskId}`, WAIT)
    await progressed(page)
    await page.getByTestId('cancel-run').click()
    await page.locator('.toast', { hasText: `Cancelling ${taskId}` }).waitFor(WAIT)
    await page.locator('.task-card .pill.cancelled').waitFor(WAIT)
    await page.locator('.toast', { hasText: `Task ${taskId} cancelled` }).waitFor(WAIT)

    await page.getByRole('link', { name: 'Tasks', exact: true }).click()
    await page.locator(`.task-card:has(a[href="#/tasks/${taskId}"]) .pill.cancelled`).waitFor(WAIT)
    await page.getByRole('link', { name: 'History', exact: true }).click()
    await page.locator(`.runs tr[data-task="${taskId}"] .pill.cancelled`).waitFor(WAIT)

    await page.goto(`${stack.origin}/#/tasks/${taskId}`)
    await page.getByTestId('rerun').click()
    const rerunId = await submitted(page, taskId)
    expect(rerunId).not.toBe(taskId)
    await page.waitForURL(`**/#/tasks/${rerunId}`, WAIT)
    await progressed(page)
    await page.getByRole('link', { name: 'Tasks', exact: true }).click()
    await page.locator(`.task-card:has(a[href="#/tasks/${rerunId}"]) .pill.running`).waitFor(WAIT)

    // Runs do not overlap: a start while the re-run runs is refused, and says why.
    await page.getByTestId('start-run').click()
    await page.getByRole('button', { name: 'Start', exact: true }).click()
    const overlap = page.locator('.toast', { hasText: 'Run not started' }).last()
    await overlap.waitFor(WAIT)
    expect(await overlap.textContent()).toContain(`run ${rerunId} is still running`)

    await page.goto(`${stack.origin}/#/tasks/${rerunId}`)
    await page.getByTestId('cancel-run').click()
    await page.locator('.toast', { hasText: `Task ${rerunId} cancelled` }).waitFor(WAIT)

    // The System page lists the serve worker (GET /api/workers).
    await page.getByRole('link', { name: 'System', exact: true }).click()
    await page.locator('td.mono', { hasText: 'e2e-serve' }).waitFor(WAIT)
    expect(stack.problems).toEqual([])
  })
})

/** The task id of the newest "Run … submitted" toast that is not `not`'s. */
async function submitted(page: Page, not?: string): Promise<string> {
  const toast = page
    .locator('.toast', { hasText: /Run \S+ submitted/ })
    .filter({ hasNotText: not === undefined ? /$^/ : `Run ${not} submitted` })
    .last()
  await toast.waitFor(WAIT)
  const text = (await toast.textContent()) ?? ''
  expect(text).toContain(`${STOCKS.toLocaleString('en-US')} stocks`)
  const taskId = /Run (\S+) submitted/.exec(text)?.[1]
  if (taskId === undefined) throw new Error(`no task id in the toast "${text}"`)
  return taskId
}

/** Waits until the task page's progress bar has moved. */
async function progressed(page: Page): Promise<void> {
  await page.waitForFunction(
    () => Number(document.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow')) > 0,
    undefined,
    WAIT,
  )
}
