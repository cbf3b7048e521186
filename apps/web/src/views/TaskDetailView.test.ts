import { createTaskCompletedEvent } from '@stockpulse/events'
import type { VueWrapper } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mountDashboard, unmountDashboard } from '../test-support/mount-dashboard'
import { eventually, startTestServer, type TestServer } from '../test-support/ws-server'

describe('TaskDetailView', () => {
  let server: TestServer
  let wrapper: VueWrapper

  beforeEach(async () => {
    server = await startTestServer()
  })

  afterEach(async () => {
    await unmountDashboard(wrapper)
    await server.close()
  })

  it("shows a task past the history's retention from the run history, and says its details expired", async () => {
    server.respond('/ws/history', 200, {
      runs: [
        createTaskCompletedEvent(
          {
            task_id: 'calc_old',
            task_type: 'batch_daily',
            status: 'completed',
            duration_seconds: 75,
            result: {
              success: 4998,
              failed: 2,
              failures: [
                { stock_code: '000007', indicator: 'MACD', reason: 'not enough bars' },
                { stock_code: '000009', reason: 'no bars' },
              ],
            },
          },
          new Date('2026-01-09T08:31:15Z'),
        ),
      ],
    })
    wrapper = await mountDashboard(server, '/tasks/calc_old')
    const gateway = await server.connection(1)
    await eventually(() =>
      expect(gateway.received).toContainEqual({
        type: 'subscribe',
        channels: ['events:task:calc_old'],
        since: { 'events:task:calc_old': 'start' },
      }),
    )
    gateway.send({
      type: 'subscribed',
      results: [{ channel: 'events:task:calc_old', ok: true, recovered: false }],
    })
    await eventually(() =>
      expect(wrapper.find('[data-testid="details-expired"]').exists()).toBe(true),
    )
    expect(wrapper.get('[data-testid="task-processed"]').text()).toBe('5,000 / 5,000')
    expect(wrapper.get('[data-testid="task-elapsed"]').text()).toBe('1 m 15 s')
    expect(wrapper.findAll('.failures li').map((li) => li.text())).toEqual([
      '000007MACDnot enough bars',
      '000009whole stockno bars',
    ])
    expect(wrapper.find('.banner').exists()).toBe(false)
  })
})
