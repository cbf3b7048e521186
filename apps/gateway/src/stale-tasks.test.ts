import { historyKeys } from '@stockpulse/events'
import { until } from '@stockpulse/testing'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { taskProgress } from '../bench/job.js'
import { staleTask } from './stale-tasks.js'
import {
  type Received,
  startGateway,
  TestClient,
  type TestGateway,
  untilReady,
} from './test-support/gateway.js'
import { withRedis } from './test-support/redis.js'

const shared = withRedis()
const keys = historyKeys('stale:')
let writer: ReturnType<typeof createClient>
beforeAll(async () => {
  writer = createClient({ url: shared.redis.url })
  await writer.connect()
})
afterAll(() => writer.close())

/** The task state entry the worker writes for a running task, `ageMs` old. */
function running(taskId: string, processed: number, ageMs: number) {
  const event = taskProgress(taskId, processed, 100)
  return JSON.stringify({ ...event, timestamp: new Date(Date.now() - ageMs).toISOString() })
}

const notices = (client: TestClient) => client.received.filter((m) => m.code === 'task_stale')

describe('stale-tasks', () => {
  it.each([
    ['running and silent for longer', running('calc_a', 5, 61_000), 'calc_a'],
    ['running, silent for less', running('calc_a', 5, 59_000), undefined],
    [
      'not running',
      JSON.stringify({ ...taskProgress('calc_a', 5, 5), status: 'completed' }),
      undefined,
    ],
    ['not a task.progress', '{"event_type":"task.progress"}', undefined],
  ])('finds a task %s stale', (_, text, expected) => {
    expect(staleTask(text, 60_000, Date.now())?.taskId).toBe(expected)
  })

  it('tells the subscribers of the task once until it sends a new event, and after snapshots', async () => {
    await writer.hSet(keys.tasks, 'calc_stale', running('calc_stale', 10, 0))
    const test: TestGateway = await startGateway({
      REDIS_URL: shared.redis.url,
      KEY_PREFIX: 'stale:',
      STALE_TASK_S: '3',
      SWEEP_INTERVAL_S: '0.1',
    })
    try {
      await untilReady(test)
      const all = await TestClient.open(test.wsUrl('?channels=events:tasks'))
      const own = await TestClient.open(test.wsUrl('?channels=events:task:calc_stale'))
      const both = await TestClient.open(
        test.wsUrl('?channels=events:tasks,events:task:calc_stale'),
      )
      const other = await TestClient.open(test.wsUrl('?channels=events:indicators'))
      const clients = [all, own, both, other]
      // A fresh task: its snapshot comes without a notice.
      expect(all.received.map((m) => m.event_type ?? m.type)).toEqual([
        'connected',
        'task.progress',
        'subscribed',
      ])

      await until(() => test.gateway.stats().stale_tasks === 1, 'the task to go stale')
      // A second task going stale 3 s later: by its notice, some 30 sweeps have passed.
      await writer.hSet(keys.tasks, 'calc_later', running('calc_later', 10, 0))
      await until(() => notices(all).length === 2, 'the notice of the later task', 20_000)
      await writer.hDel(keys.tasks, 'calc_later')
      await until(() => test.gateway.stats().stale_tasks === 1, 'the later task to be gone')
      const expected: Received = {
        type: 'notice',
        code: 'task_stale',
        task_id: 'calc_stale',
        message: expect.stringMatching(
          /^Task calc_stale is still running but sent no event for \d+ s: its worker may have died\.$/,
        ),
      }
      const later = { ...expected, task_id: 'calc_later', message: expect.any(String) }
      expect(clients.map((client) => notices(client))).toEqual([
        [expected, later],
        [expected],
        [expected, later],
        [],
      ])
      const metrics = await (await fetch(test.httpUrl('/metrics'))).text()
      expect(metrics.split('\n')).toContain('stockpulse_gateway_stale_tasks 1')

      // A new event clears it; silent again, it is stale again.
      await writer.hSet(keys.tasks, 'calc_stale', running('calc_stale', 20, 0))
      await until(() => test.gateway.stats().stale_tasks === 0, 'the task to be fresh')
      await until(() => notices(all).length === 3, 'a second notice', 20_000)
      expect(clients.map((client) => notices(client).length)).toEqual([3, 2, 3, 0])

      // Joining now: the snapshot, then the notice, then the ack.
      const late = await TestClient.open(test.wsUrl('?channels=events:tasks'))
      clients.push(late)
      expect(late.received.map((m) => m.event_type ?? m.code ?? m.type)).toEqual([
        'connected',
        'task.progress',
        'task_stale',
        'subscribed',
      ])

      await writer.hDel(keys.tasks, 'calc_stale')
      await until(() => test.gateway.stats().stale_tasks === 0, 'the task to be gone')
      await Promise.all(clients.map((client) => client.close()))
    } finally {
      await test.close()
    }
  })
})
