import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { TestClient } from '../../src/test-support/gateway.js'
import { expectWholeJobDelivered, withGateway } from './support.js'

// Finding 7: STATIC_DIR followed symlinks out of itself (/etc/passwd was served) and served
// dotfiles (.env); pages came without CSP, anti-framing or Referrer-Policy.

let site: string
const PAGE = '<!doctype html><title>StockPulse</title>'
const target = withGateway(() => {
  site = mkdtempSync(join(tmpdir(), 'abuse-static-'))
  writeFileSync(join(site, 'index.html'), PAGE)
  symlinkSync('/etc/passwd', join(site, 'passwd.txt'))
  symlinkSync('/etc', join(site, 'etc'))
  writeFileSync(join(site, '.env'), 'REDIS_URL=redis://worker:hunter2@cache:6379')
  mkdirSync(join(site, '.git'))
  writeFileSync(join(site, '.git', 'config'), '[remote "origin"] url = hunter2')
  return { env: { STATIC_DIR: site } }
})
afterAll(() => rmSync(site, { recursive: true, force: true }))

describe('abuse: reading files through the dashboard', () => {
  it.each([
    // Paths with an extension are files: 404.
    ['/passwd.txt', 404, 'not found'],
    ['/etc/ld.so.conf', 404, 'not found'],
    ['/.env', 404, 'not found'],
    ['/%2eenv', 404, 'not found'],
    ['/x/../.env', 404, 'not found'],
    ['/.git/config', 404, 'not found'],
    // Paths without one are client-side routes: the page, never the file.
    ['/etc/passwd', 200, PAGE],
    ['/etc/hostname', 200, PAGE],
  ])('never serves %s (%i)', async (path, status, body) => {
    const answer = await target.gateway.get(path)
    expect(answer).toMatchObject({ status, body })
  })

  it('sends CSP, anti-framing and Referrer-Policy with the page and its client-side routes', async () => {
    const bystander = await TestClient.open(
      target.gateway.wsUrl('?channels=events:tasks,events:indicators'),
    )
    for (const path of ['/', '/tasks/calc_1']) {
      const answer = await target.gateway.get(path, { host: `localhost:${target.gateway.port}` })
      expect(answer.status).toBe(200)
      expect(answer.headers).toMatchObject({
        'content-security-policy': expect.stringContaining(
          `connect-src 'self' ws://localhost:${target.gateway.port} wss://localhost:${target.gateway.port};`,
        ),
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
      })
      expect(answer.headers['content-security-policy']).toContain("default-src 'self'")
      expect(answer.headers['content-security-policy']).toContain("frame-ancestors 'none'")
    }
    await expectWholeJobDelivered(target.publisher, [bystander], 'calc_static', 100)
    await bystander.close()
  })
})
