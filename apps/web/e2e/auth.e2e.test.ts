import { type ChildProcess, spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { once } from 'node:events'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, type RedisServer, startRedisServer, until } from '@stockpulse/testing'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const GATEWAY_MAIN = resolve(WEB, '../gateway/dist/main.js')
const STATIC_DIR = resolve(WEB, 'dist')
const SECRET = 'an-e2e-secret-that-is-long-enough-for-hs256'
const WAIT = { timeout: 30_000 }

// The dashboard behind a gateway with auth on: the page's token (sessionStorage) goes in the
// WebSocket subprotocol and the Authorization header, never in a URL; the page works under the
// gateway's Content-Security-Policy.

describe('dashboard with auth on', () => {
  let redis: RedisServer
  let port: number
  let gateway: ChildProcess
  let browser: Browser
  let page: Page
  const urls: string[] = []
  const problems: string[] = []

  beforeAll(async () => {
    redis = await startRedisServer()
    port = await freePort()
    gateway = spawn(process.execPath, [GATEWAY_MAIN], {
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL: redis.url,
        STATIC_DIR,
        AUTH_JWT_SECRET: SECRET,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    })
    await until(
      async () =>
        (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok ?? false,
      'the gateway to be healthy',
      15_000,
    )
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    })
  })

  afterEach(async () => {
    await page?.close()
    urls.length = 0
    problems.length = 0
  })

  afterAll(async () => {
    await browser?.close()
    if (gateway && gateway.exitCode === null) {
      const exited = once(gateway, 'exit')
      gateway.kill('SIGTERM')
      await exited
    }
    await redis?.stop()
  })

  async function openSystem(token: string | undefined): Promise<void> {
    page = await browser.newPage()
    page.on('request', (request) => urls.push(request.url()))
    page.on('websocket', (ws) => urls.push(ws.url()))
    page.on('pageerror', (error) => problems.push(error.message))
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) problems.push(message.text())
    })
    if (token) {
      await page.addInitScript((jwt) => sessionStorage.setItem('stockpulse.token', jwt), token)
    }
    await page.goto(`http://127.0.0.1:${port}/#/system`)
  }

  it('connects with the token from sessionStorage, and shows the stats to an admin', async () => {
    const token = jwt({ sub: 'ops', scope: 'stockpulse:admin' })
    await openSystem(token)
    await page.waitForSelector('.connection[data-state="open"]', WAIT)
    await page.waitForSelector('dl[aria-label="Gateway statistics"]', WAIT)
    expect(urls.some((url) => url.includes('/ws/events'))).toBe(true)
    for (const url of urls) expect(url).not.toContain(token.split('.')[2])
    expect(problems).toEqual([])
  })

  it('connects a reader, whose token does not show the gateway statistics', async () => {
    await openSystem(jwt({ sub: 'alice' }))
    await page.waitForSelector('.connection[data-state="open"]', WAIT)
    await page.getByText('GET /ws/stats failed: HTTP 403').waitFor(WAIT)
    expect(problems).toEqual([])
  })

  it('stays closed without a token (UNAUTHORIZED is final)', async () => {
    await openSystem(undefined)
    await page.waitForSelector('.connection[data-state="closed"]', WAIT)
    await page.getByText('4500: Missing, malformed').waitFor(WAIT)
    expect(problems).toEqual([])
  })
})

/** An HS256 JWT for SECRET, valid for 5 minutes. */
function jwt(claims: Record<string, unknown>): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({
    ...claims,
    exp: Math.floor(Date.now() / 1000) + 300,
  })}`
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`
}
