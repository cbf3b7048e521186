import { createTaskCompletedEvent, type TaskCompletedEvent } from '@stockpulse/events'
import type { VueWrapper } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import UPlotChart from '../components/UPlotChart.vue'
import { mountDashboard, unmountDashboard } from '../test-support/mount-dashboard'
import { eventually, startTestServer, type TestServer } from '../test-support/ws-server'

const run = (id: string, ended: string, duration: number, success: number, failed: number) =>
  createTaskCompletedEvent(
    {
      task_id: id,
      task_type: 'batch_daily',
      status: failed > success ? 'failed' : 'completed',
      duration_seconds: duration,
      result: { success, failed },
    },
    new Date(ended),
  )

describe('HistoryView', () => {
  let server: TestServer
  let wrapper: VueWrapper

  beforeEach(async () => {
    server = await startTestServer()
  })

  afterEach(async () => {
    await unmountDashboard(wrapper)
    await server.close()
  })

  async function open() {
    wrapper = await mountDashboard(server, '/history')
    return server.connection(1)
  }

  const rows = () =>
    wrapper.findAll('.runs tbody tr').map((tr) => tr.findAll('td').map((td) => td.text()))

  it('shows the last runs newest first, and their duration, failures and throughput run over run', async () => {
    const runs: TaskCompletedEvent[] = [
      run('calc_3', '2026-01-12T09:02:00Z', 40, 3990, 10),
      run('calc_2', '2026-01-11T09:01:00Z', 0, 0, 0),
      run('calc_1', '2026-01-10T09:01:40Z', 100, 4000, 5000),
    ]
    server.respond('/ws/history', 200, { runs })
    await open()
    await eventually(() => expect(rows()).toHaveLength(3))
    expect(rows().map((cells) => cells.slice(1))).toEqual([
      ['calc_3', 'completed', '40 s', '4,000', '10', '100/s'],
      ['calc_2', 'completed', '0 s', '0', '0', '—'],
      ['calc_1', 'failed', '1 m 40 s', '9,000', '5,000', '90/s'],
    ])
    expect(rows()[0]?.[0]).toContain('2026')
    expect(wrapper.get('#runs-title').text()).toBe('Last runs 3')
    const charts = wrapper.findAllComponents(UPlotChart)
    expect(charts.map((chart) => [chart.props('title'), chart.props('data')])).toEqual([
      [
        'Duration',
        [
          [1, 2, 3],
          [100, 0, 40],
        ],
      ],
      [
        'Failed stocks',
        [
          [1, 2, 3],
          [5000, 0, 10],
        ],
      ],
      [
        'Throughput',
        [
          [1, 2, 3],
          [90, null, 100],
        ],
      ],
    ])
  })

  it('says so when no run has finished yet', async () => {
    server.respond('/ws/history', 200, { runs: [] })
    await open()
    await eventually(() => expect(wrapper.text()).toContain('No finished run yet.'))
    expect(wrapper.find('.runs').exists()).toBe(false)
    expect(wrapper.findAllComponents(UPlotChart)).toHaveLength(0)
  })

  it('reports a failed fetch, and shows the runs once a refresh succeeds', async () => {
    server.respond('/ws/history', 503, { error: 'Redis is down' })
    await open()
    await eventually(() => expect(wrapper.find('[role="alert"]').exists()).toBe(true))
    expect(wrapper.get('[role="alert"]').text()).toBe(
      'Could not load the run history (GET /ws/history): HTTP 503.',
    )
    expect(wrapper.text()).not.toContain('Loading…')

    server.respond('/ws/history', 200, {
      runs: [run('calc_1', '2026-01-10T09:01:40Z', 100, 90, 10)],
    })
    await wrapper.get('.page-head button').trigger('click')
    await eventually(() => expect(rows()).toHaveLength(1))
    expect(wrapper.find('[role="alert"]').exists()).toBe(false)
  })

  it('leaves out a run that breaks the contract, with a warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const good = run('calc_1', '2026-01-10T09:01:40Z', 100, 90, 10)
    server.respond('/ws/history', 200, { runs: [{ ...good, duration_seconds: -1 }, good] })
    await open()
    await eventually(() => expect(rows()).toHaveLength(1))
    expect(warn).toHaveBeenCalledWith(
      '[run-history] left out a run:',
      'task.completed /duration_seconds: Expected number to be greater or equal to 0',
    )
    warn.mockRestore()
  })

  it('fetches again when a task completes', async () => {
    server.respond('/ws/history', 200, { runs: [] })
    const gateway = await open()
    await eventually(() => expect(wrapper.text()).toContain('No finished run yet.'))
    const finished = run('calc_9', '2026-01-10T09:01:40Z', 10, 100, 0)
    server.respond('/ws/history', 200, { runs: [finished] })
    gateway.send(finished)
    await eventually(() => expect(rows().map((cells) => cells[1])).toEqual(['calc_9']))
  })

  it('says plainly that run history needs Redis in memory mode, and the System page names the bus', async () => {
    server.respond('/api/session', 200, {
      auth: false,
      user_id: null,
      scopes: ['stockpulse:admin', 'stockpulse:operate'],
      mode: 'memory',
    })
    await open()
    await eventually(() =>
      expect(wrapper.find('[data-testid="history-needs-redis"]').text()).toContain(
        'Run history needs Redis: this gateway runs in memory mode',
      ),
    )
    expect(wrapper.find('.runs').exists()).toBe(false)
    await wrapper.vm.$router.push('/system')
    await eventually(() =>
      expect(wrapper.get('[data-testid="event-source"]').text()).toBe(
        'in-process bus (memory mode): no history, no stored results',
      ),
    )
  })
})
