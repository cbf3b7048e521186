// Streams a 5,000-stock job into the task page in headless Chromium and prints how the page
// kept up: frame times while events arrive, DOM rows, and frame times while scrolling the feed.
// Needs the built gateway, worker and web (`pnpm build`) and /usr/bin/chromium.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { dirname, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { freePort, startRedisServer } from '@stockpulse/testing'
import { chromium } from 'playwright-core'

const STOCKS = Number(process.env.BENCH_STOCKS ?? 5000)
const PACE = process.env.BENCH_PACE ?? '1000'
const web = resolve(dirname(fileURLToPath(import.meta.url)), '..')

const redis = await startRedisServer()
const port = await freePort()
const gateway = spawn(process.execPath, [resolve(web, '../gateway/dist/main.js')], {
  env: {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL: redis.url,
    STATIC_DIR: resolve(web, 'dist'),
    LOG_LEVEL: 'warn',
  },
  stdio: 'inherit',
})
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
})
try {
  while (!(await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok)
    await sleep(50)
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const taskId = `bench_${Date.now()}`
  await page.goto(`http://127.0.0.1:${port}/#/tasks/${taskId}`)
  await page.waitForSelector('.connection[data-state="open"]')
  await sleep(500)

  await page.evaluate(startFrameRecorder)
  const started = performance.now()
  const worker = spawn(
    process.execPath,
    [
      ...[resolve(web, '../worker/dist/main.js'), 'run', '--task-id', taskId],
      ...['--stocks', String(STOCKS), '--pace', PACE],
    ],
    { env: { ...process.env, REDIS_URL: redis.url, LOG_LEVEL: 'warn' }, stdio: 'ignore' },
  )
  await once(worker, 'exit')
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid="feed-count"]')?.textContent === n,
    new Intl.NumberFormat('en-US').format(STOCKS),
    { timeout: 60_000 },
  )
  const streamed = await page.evaluate(stopFrameRecorder)
  const streamSeconds = (performance.now() - started) / 1000
  const domRows = await page.locator('.feed-space [role="row"]').count()

  await page.evaluate(startFrameRecorder)
  await page.evaluate(async () => {
    const scroller = document.querySelector('.feed-scroll')
    for (let top = 0; top < scroller.scrollHeight; top += 400) {
      scroller.scrollTop = top
      await new Promise(requestAnimationFrame)
    }
  })
  const scrolled = await page.evaluate(stopFrameRecorder)

  const searchMs = await page.evaluate(async () => {
    const input = document.querySelector('input[aria-label="Search by stock code"]')
    const t0 = performance.now()
    input.value = '0012'
    input.dispatchEvent(new Event('input'))
    await new Promise(requestAnimationFrame)
    return performance.now() - t0
  })

  console.table({
    'stream (events arriving)': row(streamed),
    'scroll top to bottom': row(scrolled),
  })
  console.table({
    stocks: STOCKS,
    'pace (stocks/s)': PACE,
    'stream wall time (s)': Number(streamSeconds.toFixed(1)),
    'rows in the DOM': domRows,
    'search 5,000 rows, to next frame (ms)': Number(searchMs.toFixed(1)),
  })
} finally {
  await browser.close()
  gateway.kill('SIGTERM')
  await once(gateway, 'exit')
  await redis.stop()
}

function row({ frames, p50, p95, max, longTasks }) {
  return {
    frames,
    'p50 frame (ms)': p50,
    'p95 frame (ms)': p95,
    'max frame (ms)': max,
    'long tasks (>50 ms)': longTasks,
  }
}

// ---- In the page ----

function startFrameRecorder() {
  const state = { deltas: [], longTasks: 0, running: true, last: performance.now() }
  new PerformanceObserver((list) => {
    state.longTasks += list.getEntries().length
  }).observe({ type: 'longtask' })
  const tick = (now) => {
    state.deltas.push(now - state.last)
    state.last = now
    if (state.running) requestAnimationFrame(tick)
  }
  requestAnimationFrame(tick)
  window.__frames = state
}

function stopFrameRecorder() {
  const state = window.__frames
  state.running = false
  const sorted = state.deltas.slice(1).sort((a, b) => a - b)
  const at = (q) =>
    Number((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0).toFixed(1))
  return {
    frames: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    max: at(1),
    longTasks: state.longTasks,
  }
}
