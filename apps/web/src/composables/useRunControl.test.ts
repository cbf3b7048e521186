// @vitest-environment node
// Node's own fetch: happy-dom's would apply CORS between its blank page and this server.
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type EffectScope, effectScope } from 'vue'
import { RUN_OPTIONS_KEY, type UseRunControlReturn, useRunControl } from './useRunControl'
import type { Toast } from './useToasts'

describe('useRunControl', () => {
  let server: Server
  let apiUrl: string
  let scope: EffectScope
  let control: UseRunControlReturn
  const requests: Array<{ method: string; path: string; body: unknown; authorization?: string }> =
    []
  const toasts: Array<Omit<Toast, 'id'>> = []
  const storage = new Map<string, string>()
  let answer: { status: number; body: unknown } = { status: 202, body: { task_id: 'calc_9' } }

  beforeEach(async () => {
    server = createServer(async (req, res) => {
      let text = ''
      for await (const chunk of req) text += chunk
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        body: text ? JSON.parse(text) : undefined,
        authorization: req.headers.authorization,
      })
      res.writeHead(answer.status, { 'content-type': 'application/json', connection: 'close' })
      res.end(JSON.stringify(answer.body))
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`
    scope = effectScope()
    control = scope.run(() =>
      useRunControl({
        apiUrl,
        token: () => 'operator.jwt',
        notify: (toast) => toasts.push(toast),
        storage: {
          getItem: (key) => storage.get(key) ?? null,
          setItem: (key, value) => storage.set(key, value),
        },
      }),
    )!
  })

  afterEach(async () => {
    scope.stop()
    server.close()
    await once(server, 'close')
    requests.length = 0
    toasts.length = 0
    storage.clear()
    answer = { status: 202, body: { task_id: 'calc_9' } }
  })

  it('starts a run with its options, announces it, and re-runs it with the same options', async () => {
    const options = { stocks: 2000, indicators: ['SMA_5', 'MACD'] }
    expect(await control.start(options)).toBe('calc_9')
    expect(requests).toEqual([
      { method: 'POST', path: '/api/runs', body: options, authorization: 'Bearer operator.jwt' },
    ])
    expect(toasts).toEqual([
      { level: 'success', title: 'Run calc_9 submitted', message: '2,000 stocks · SMA_5, MACD' },
    ])
    expect(control.optionsOf('calc_9')).toEqual(options)
    expect(JSON.parse(storage.get(RUN_OPTIONS_KEY)!)).toEqual([['calc_9', options]])

    answer = { status: 202, body: { task_id: 'calc_10' } }
    expect(await control.rerun('calc_9', 1234)).toBe('calc_10')
    expect(requests[1]?.body).toEqual(options)
    // A task started elsewhere is run again with its stock count.
    expect(await control.rerun('calc_other', 1234)).toBe('calc_10')
    expect(requests[2]?.body).toEqual({ stocks: 1234 })
  })

  it("shows a refusal's reason, and says so when the gateway answers no task id", async () => {
    answer = {
      status: 409,
      body: { error: 'run_in_progress', reason: 'Run calc_8 is still running; overlap is off.' },
    }
    expect(await control.start({ stocks: 10 })).toBeUndefined()
    answer = { status: 503, body: { error: 'needs_redis', reason: 'Runs need Redis.' } }
    expect(await control.cancel('calc_8')).toBe(false)
    answer = { status: 202, body: { task_id: '../../etc' } }
    expect(await control.start({})).toBeUndefined()
    expect(toasts).toEqual([
      {
        level: 'error',
        title: 'Run not started',
        message: 'Run calc_8 is still running; overlap is off.',
      },
      { level: 'error', title: 'calc_8 not cancelled', message: 'Runs need Redis.' },
      {
        level: 'error',
        title: 'Run not started',
        message: 'The gateway answered without a task id.',
      },
    ])
    expect(requests[1]).toMatchObject({ method: 'POST', path: '/api/runs/calc_8/cancel' })
  })

  it('cancels a run', async () => {
    answer = { status: 202, body: { task_id: 'calc_8' } }
    expect(await control.cancel('calc_8')).toBe(true)
    expect(toasts).toEqual([
      {
        level: 'warning',
        title: 'Cancelling calc_8',
        message: 'Its remaining stocks are skipped.',
      },
    ])
  })
})
