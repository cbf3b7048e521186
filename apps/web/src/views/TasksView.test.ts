import { createTaskCompletedEvent, createTaskProgressEvent, Scope } from '@stockpulse/events'
import type { VueWrapper } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mountDashboard, unmountDashboard } from '../test-support/mount-dashboard'
import { eventually, startTestServer, type TestServer } from '../test-support/ws-server'

const session = (scopes: string[]) => ({ auth: true, user_id: 'ops', scopes, mode: 'redis' })
const running = createTaskProgressEvent({
  task_id: 'calc_live',
  task_type: 'batch_daily',
  status: 'running',
  progress: 10,
  message: 'Processing',
  processed: 100,
  total: 1000,
  failed: 0,
})
const run = (id: string, failed: number, ended: string) =>
  createTaskCompletedEvent(
    {
      task_id: id,
      task_type: 'batch_daily',
      status: 'completed',
      duration_seconds: 62,
      result: { success: 1000 - failed, failed },
    },
    new Date(ended),
  )

describe('TasksView', () => {
  let server: TestServer
  let wrapper: VueWrapper

  beforeEach(async () => {
    server = await startTestServer()
  })

  afterEach(async () => {
    await unmountDashboard(wrapper)
    await server.close()
  })

  it('lists stored runs as links, with the last run against the one before and the next scheduled run', async () => {
    server.respond('/ws/history', 200, {
      runs: [run('calc_b', 7, '2026-01-12T08:31:02Z'), run('calc_a', 10, '2026-01-09T08:31:00Z')],
    })
    server.respond('/api/schedule', 200, {
      cron: '30 16 * * 1-5',
      tz: 'Asia/Shanghai',
      next_run_at: '2026-01-13T08:30:00Z',
    })
    wrapper = await mountDashboard(server, '/')
    await eventually(() => expect(wrapper.findAll('.task-card')).toHaveLength(2))
    expect(wrapper.findAll('.task-card h2 a').map((a) => a.attributes('href'))).toEqual([
      '#/tasks/calc_b',
      '#/tasks/calc_a',
    ])
    expect(wrapper.get('[data-testid="last-run"]').text().replace(/\s+/g, ' ')).toContain(
      'completed in 1 m 02 s · 7 failed stocks (−3 vs the run before)',
    )
    await eventually(() => expect(wrapper.find('[data-testid="next-run"]').exists()).toBe(true))
    expect(wrapper.get('[data-testid="next-run"]').text()).toContain('30 16 * * 1-5 Asia/Shanghai')
  })

  it('shows Start run and Cancel only with the operate scope', async () => {
    server.respond('/api/session', 200, session([Scope.ADMIN]))
    wrapper = await mountDashboard(server, '/system')
    // The System page names the session once it is known: the Tasks page knows it too then.
    await eventually(() => expect(wrapper.text()).toContain('ops · stockpulse:admin'))
    await wrapper.vm.$router.push('/')
    ;(await server.connection(1)).send(running)
    await eventually(() => expect(wrapper.find('.task-card').exists()).toBe(true))
    expect(wrapper.find('[data-testid="start-run"]').exists()).toBe(false)
    expect(wrapper.findAll('.task-actions button')).toHaveLength(0)
  })

  it('starts a run from the form and shows a refusal in a toast', async () => {
    server.respond('/api/session', 200, session([Scope.OPERATE]))
    server.respond('/api/runs', 409, {
      error: 'run_in_progress',
      reason: 'calc_live is still running and runs may not overlap.',
    })
    wrapper = await mountDashboard(server, '/')
    await eventually(() => expect(wrapper.find('[data-testid="start-run"]').exists()).toBe(true))
    await wrapper.get('[data-testid="start-run"]').trigger('click')
    await wrapper.get('input[name="stocks"]').setValue('300')
    await wrapper.get('input[name="indicators"]').setValue('SMA_5, MACD')
    await wrapper.get('form.run-form').trigger('submit')
    await eventually(() => expect(wrapper.findAll('.toast')).toHaveLength(1))
    expect(wrapper.get('.toast').text()).toContain(
      'Run not startedcalc_live is still running and runs may not overlap.',
    )
    expect(wrapper.find('form.run-form').exists()).toBe(true)
  })
})
