// `pnpm --filter @stockpulse/web screenshots`: the screenshots of README.md and docs/, taken from
// the built apps over a private Redis in headless Chromium, each view on a desktop (1280 px) and a
// phone (390 px). Not a test: vitest only runs it (TypeScript, the e2e harness).
import { mkdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { expect, it } from 'vitest'
import { DESKTOP, finished, PHONE, startStack, WAIT, WEB } from './harness'

const DOCS = resolve(WEB, 'docs')

it('takes the screenshots of every view, desktop and phone', async () => {
  await mkdir(DOCS, { recursive: true })
  const stack = await startStack()
  const pages = { desktop: await stack.newPage(DESKTOP), phone: await stack.newPage(PHONE) }
  // An idle serve worker: the System page's worker list and the front page's next scheduled run.
  const serve = await stack.startServe(['--instance-id', 'worker-a', '--concurrency', '2'])
  try {
    const stamp = new Date().toISOString().slice(11, 19).replaceAll(':', '')
    // Five earlier runs, a day apart: the History charts and the stock's recent closes.
    for (const [n, stocks] of [1_500, 1_800, 1_600, 2_000, 1_700].entries()) {
      const date = new Date(Date.now() - (5 - n) * 86_400_000).toISOString().slice(0, 10)
      const worker = stack.startWorker(`calc_${date.replaceAll('-', '')}_${stamp}`, stocks, 5_000, [
        '--date',
        date,
      ])
      await finished(worker)
    }
    const taskId = `calc_daily_${stamp}`
    const out = join(tmpdir(), `screenshots-${stamp}.jsonl`)
    for (const page of Object.values(pages)) await page.goto(`${stack.origin}/#/tasks/${taskId}`)
    await stack.joined(`events:task:${taskId}`)
    const worker = stack.startWorker(taskId, 5_000, 400, ['--out', out])
    await pages.desktop.waitForFunction(
      () =>
        Number(document.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow')) >= 66,
      undefined,
      WAIT,
    )
    // Held at two thirds while the running views are taken.
    worker.kill('SIGSTOP')
    try {
      await shoot(pages, `#/tasks/${taskId}`, 'dashboard')
      await shoot(pages, '#/', 'tasks')
      await shoot(pages, '#/system', 'system')
    } finally {
      worker.kill('SIGCONT')
    }
    await finished(worker)
    const results = (await readFile(out, 'utf8')).trim().split('\n')
    const failing = results
      .slice(0, 1_500)
      .map((line) => JSON.parse(line) as { stock_code: string; errors?: { indicator?: string }[] })
      .find((result) => result.errors?.some((error) => error.indicator))
    expect(failing, 'a stock with a failed indicator among the first 1,500').toBeDefined()
    await shoot(pages, `#/stocks/${failing!.stock_code}`, 'stock', '[data-testid="stock-source"]')
    await shoot(pages, '#/history', 'history', '.runs')
  } finally {
    await serve.stop()
    await stack.close()
  }
}, 180_000)

/** Opens `route` on both pages and saves `docs/<name>.png` and `docs/<name>-phone.png`. */
async function shoot(
  pages: Record<'desktop' | 'phone', Page>,
  route: string,
  name: string,
  ready?: string,
) {
  for (const [kind, page] of Object.entries(pages)) {
    await page.goto(new URL(route, page.url()).href)
    await page.waitForSelector('.connection[data-state="open"]', WAIT)
    if (ready) await page.waitForSelector(ready, WAIT)
    // Charts and the replay settle before the picture.
    await page.waitForFunction(
      () =>
        document.querySelectorAll('.chart-host canvas').length ===
        document.querySelectorAll('.chart-host').length,
      undefined,
      WAIT,
    )
    await page.evaluate(
      () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))),
    )
    const file = resolve(DOCS, kind === 'phone' ? `${name}-phone.png` : `${name}.png`)
    await page.screenshot({ path: file, fullPage: true, animations: 'disabled' })
  }
}
