import {
  CloseCode,
  createStockIndicatorsCompletedEvent,
  createTaskCompletedEvent,
  createTaskProgressEvent,
  type StockIndicatorsCompletedEvent,
} from '@stockpulse/events'
import { flushPromises, type VueWrapper } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mountDashboard, unmountDashboard } from './test-support/mount-dashboard'
import {
  eventually,
  type ServerConnection,
  startTestServer,
  type TestServer,
} from './test-support/ws-server'

const task = { task_id: 'calc_7', task_type: 'batch_daily' }

function stockEvent(code: string, errors?: StockIndicatorsCompletedEvent['errors']) {
  return createStockIndicatorsCompletedEvent({
    ...task,
    stock_code: code,
    indicators: errors ? ['SMA_5'] : ['SMA_5', 'RSI_14'],
    success_count: errors ? 1 : 2,
    failed_count: errors ? 1 : 0,
    calculation_time_ms: 3.25,
    from_cache_count: 1,
    errors,
  })
}

describe('App', () => {
  let server: TestServer
  let wrapper: VueWrapper
  let gateway: ServerConnection

  beforeEach(async () => {
    server = await startTestServer()
    wrapper = await mountDashboard(server, '/')
    gateway = await server.connection(1)
  })

  afterEach(async () => {
    await unmountDashboard(wrapper)
    await server.close()
  })

  it('joins events:tasks and events:system on one connection', () => {
    expect(gateway.url.searchParams.get('channels')).toBe('events:tasks,events:system')
  })

  it('shows the active task with an accessible progress bar, then a toast when it completes', async () => {
    gateway.send(
      createTaskProgressEvent({
        ...task,
        status: 'running',
        progress: 45.5,
        message: 'Processing 002275 (2275/5000)',
        processed: 2275,
        total: 5000,
        failed: 12,
      }),
    )
    await eventually(() => expect(wrapper.find('[role="progressbar"]').exists()).toBe(true))
    const bar = wrapper.get('[role="progressbar"]')
    expect(bar.attributes()).toMatchObject({
      'aria-valuenow': '45.5',
      'aria-valuemin': '0',
      'aria-valuemax': '100',
      'aria-label': 'Progress of task calc_7',
    })
    expect(wrapper.get('.task-card').text()).toContain('2,275 / 5,000')
    expect(wrapper.get('.toasts').attributes()).toMatchObject({
      role: 'status',
      'aria-live': 'polite',
    })
    expect(wrapper.findAll('.toast')).toHaveLength(0)

    gateway.send(
      createTaskCompletedEvent({
        ...task,
        status: 'completed',
        duration_seconds: 90,
        result: { success: 4988, failed: 12 },
      }),
    )
    await eventually(() => expect(wrapper.findAll('.toast')).toHaveLength(1))
    expect(wrapper.get('.toast').text()).toContain('Task calc_7 completed')
    expect(wrapper.get('.toast').text()).toContain('5,000 stocks in 1 m 30 s, 12 failed')
    expect(wrapper.get('[role="progressbar"]').attributes('aria-valuenow')).toBe('100')
  })

  it('marks a task stale while the gateway says its worker is silent, until its next event', async () => {
    const running = (processed: number) =>
      createTaskProgressEvent({
        ...task,
        status: 'running',
        progress: processed / 10,
        message: `Processing (${processed}/1000)`,
        processed,
        total: 1000,
        failed: 0,
      })
    gateway.send(running(100))
    await eventually(() => expect(wrapper.find('.task-card').exists()).toBe(true))
    expect(wrapper.find('.pill.stale').exists()).toBe(false)

    gateway.send({
      type: 'notice',
      code: 'task_stale',
      task_id: 'calc_7',
      message: 'calc_7 sent no event for 60 s',
    })
    await eventually(() => expect(wrapper.find('.pill.stale').exists()).toBe(true))
    expect(wrapper.get('.pill.stale').text()).toBe('stale — worker silent')
    expect(wrapper.get('.pill.stale').attributes('title')).toBe('calc_7 sent no event for 60 s')
    expect(wrapper.get('.connection').text()).toBe('Live')

    gateway.send(running(200))
    await eventually(() => expect(wrapper.find('.pill.stale').exists()).toBe(false))
    expect(wrapper.get('.task-card').text()).toContain('200 / 1,000')
  })

  it('warns with a banner only when a resume fell back to a snapshot, until dismissed', async () => {
    gateway.send({
      ...createTaskProgressEvent({
        ...task,
        status: 'running',
        progress: 1,
        message: 'Processing',
        processed: 10,
        total: 1000,
        failed: 0,
      }),
      position: 'e1:5-0',
    })
    await eventually(() => expect(wrapper.find('.task-card').exists()).toBe(true))
    server.respond('/ws/stats', 200, { connections: 1 })
    await wrapper.vm.$router.push('/system')
    gateway.socket.close(CloseCode.SHUTDOWN)
    const second = await server.connection(2)
    await eventually(() =>
      expect(second.received).toEqual([
        {
          type: 'subscribe',
          channels: ['events:tasks', 'events:system'],
          since: { 'events:tasks': 'e1:5-0' },
        },
      ]),
    )
    second.send({
      type: 'subscribed',
      results: [
        { channel: 'events:tasks', ok: true, recovered: true, position: 'e1:9-0' },
        { channel: 'events:system', ok: true, position: 'e1:9-0' },
      ],
    })
    await eventually(() =>
      expect(wrapper.find('[data-testid="last-resume"]').text()).toBe('events:tasks replayed'),
    )
    expect(wrapper.find('.banner').exists()).toBe(false)
    second.send({
      type: 'subscribed',
      results: [{ channel: 'events:tasks', ok: true, recovered: false, position: 'e2:1-0' }],
    })
    await eventually(() => expect(wrapper.find('.banner').exists()).toBe(true))
    expect(wrapper.get('.banner').attributes('role')).toBe('alert')
    expect(wrapper.get('.banner').text()).toContain('rebuilt from a snapshot of events:tasks:')
    expect(wrapper.get('[data-testid="last-resume"]').text()).toBe('events:tasks snapshot')
    await wrapper.get('.banner button').trigger('click')
    expect(wrapper.find('.banner').exists()).toBe(false)
  })

  it('lists each failure with its reason, from the stock events and the final result', async () => {
    await wrapper.vm.$router.push('/tasks/calc_7')
    await eventually(() =>
      expect(gateway.received).toContainEqual({
        type: 'subscribe',
        channels: ['events:task:calc_7'],
        since: { 'events:task:calc_7': 'start' },
      }),
    )
    gateway.send({
      type: 'batch',
      events: [
        stockEvent('000001'),
        stockEvent('000002', [{ indicator: 'RSI_14', reason: 'not enough bars (9 < 15)' }]),
        stockEvent('000003'),
      ],
    })
    gateway.send(
      createTaskCompletedEvent({
        ...task,
        status: 'completed',
        duration_seconds: 1,
        result: {
          success: 2,
          failed: 2,
          failures: [
            { stock_code: '000002', indicator: 'RSI_14', reason: 'not enough bars (9 < 15)' },
            { stock_code: '000009', reason: 'no bars for 2026-01-10' },
          ],
        },
      }),
    )
    await eventually(() => expect(wrapper.findAll('.failures li')).toHaveLength(2))
    expect(wrapper.findAll('.failures li').map((li) => li.text())).toEqual([
      '000002RSI_14not enough bars (9 < 15)',
      '000009whole stockno bars for 2026-01-10',
    ])
    expect(wrapper.get('[data-testid="failure-summary"]').text()).toBe(
      '2 stocks failed, one row per stock and failed indicator (2 rows)',
    )
    await flushPromises()
    expect(wrapper.get('[data-testid="feed-count"]').text()).toBe('3')
    expect(wrapper.get('[role="table"]').attributes('aria-rowcount')).toBe('4')
  })
})
