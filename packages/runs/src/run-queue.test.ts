import { freePort } from '@stockpulse/testing'
import { describe, expect, it } from 'vitest'
import { createRunQueue } from './run-queue.js'

describe('run-queue', () => {
  it('answers 503 with the reason while Redis is unreachable, and 400 before asking it', async () => {
    const queue = createRunQueue({ url: `redis://127.0.0.1:${await freePort()}`, prefix: 'rq:' })
    try {
      expect(await queue.submit({ stocks: -1 })).toMatchObject({ status: 400 })
      const submitted = await queue.submit({ stocks: 10 })
      expect(submitted).toMatchObject({ status: 503, body: { error: 'unavailable' } })
      expect((submitted.body as { reason: string }).reason).toMatch(
        /^the run queue is unavailable: /,
      )
      expect(await queue.cancel('calc_1')).toMatchObject({ status: 503 })
      expect(await queue.cancel('../etc')).toMatchObject({
        status: 404,
        body: { error: 'unknown_run' },
      })
    } finally {
      await queue.close()
    }
  })
})
