import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type RedisServer, startNode, startRedisServer } from '@stockpulse/testing'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestClient } from '../../src/test-support/gateway.js'
import {
  expectWholeJob,
  lastPositions,
  runWorkerJob,
  WORKER_MAIN,
} from '../../src/test-support/worker-job.js'
import { type GatewayProcess, startGatewayProcess } from './support.js'

// Finding 11: whoever can write the run queue's keys starts and cancels runs. Redis ACLs are the
// trust boundary: deploy/redis/users.acl gives the worker, the gateway and an operator each what
// it needs and nothing else. This runs both apps with their users on a Redis loaded with
// that file, as shipped, with passwords turned on the way its README says.

const ACL_FILE = fileURLToPath(new URL('../../../../deploy/redis/users.acl', import.meta.url))
const USERS = ['stockpulse-worker', 'stockpulse-gateway', 'stockpulse-operator'] as const
type User = (typeof USERS)[number]
const password = (user: User) => `pw-${user}-${process.pid}`

let dir: string
let redis: RedisServer
let gateway: GatewayProcess
const url = (user: User) => `redis://${user}:${password(user)}@127.0.0.1:${redis.port}`
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stockpulse-acl-'))
  let acl = readFileSync(ACL_FILE, 'utf8')
  for (const user of USERS) {
    acl = acl.replace(`user ${user} off resetpass `, `user ${user} on >${password(user)} `)
  }
  writeFileSync(join(dir, 'users.acl'), acl)
  redis = await startRedisServer({ args: ['--aclfile', join(dir, 'users.acl')] })
  gateway = await startGatewayProcess({
    REDIS_URL: url('stockpulse-gateway'),
    LOG_LEVEL: 'debug',
  })
})
afterAll(async () => {
  await gateway?.stop()
  await redis?.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** What Redis answers `command` run as `user`: the reply, or the error message. */
async function as(user: User | 'default', command: string[]): Promise<unknown> {
  const client = createClient({
    url: user === 'default' ? redis.url : url(user),
    disableClientInfo: true,
  })
  client.on('error', () => {})
  try {
    await client.connect()
    return await client.sendCommand(command)
  } catch (error) {
    return (error as Error).message
  } finally {
    if (client.isOpen) client.destroy()
  }
}

describe('abuse: Redis users (deploy/redis/users.acl)', () => {
  it('lets a worker job reach a gateway client, each app with its own user', async () => {
    const client = await TestClient.open(gateway.wsUrl('?channels=events:tasks,events:indicators'))
    const job = runWorkerJob({
      redisUrl: url('stockpulse-worker'),
      keyPrefix: 'stockpulse:',
      taskId: 'calc_acl',
      stocks: 60,
    })
    await job.expectExit(0)
    await client.next((m) => m.event_type === 'task.completed', 15_000)
    expectWholeJob(client.events(), 60)

    // The gateway reads the history with its user: a resume from the first events replays the rest.
    const resumer = await TestClient.open(gateway.wsUrl('?channels='))
    resumer.send({
      type: 'subscribe',
      id: 'resume',
      channels: ['events:tasks', 'events:indicators'],
      since: lastPositions(client.events().slice(0, 2)),
    })
    expect(await resumer.next((m) => m.id === 'resume')).toMatchObject({
      results: [
        { channel: 'events:tasks', ok: true, recovered: true },
        { channel: 'events:indicators', ok: true, recovered: true },
      ],
    })
    expect(resumer.events()).toHaveLength(client.events().length - 2)
    await Promise.all([client.close(), resumer.close()])
    // Credentials never reach the logs.
    expect(gateway.output()).not.toContain(password('stockpulse-gateway'))
  })

  it('runs a run submitted on the gateway on a serve worker, each with its user', async () => {
    const client = await TestClient.open(gateway.wsUrl('?channels=events:tasks,events:indicators'))
    const worker = startNode(
      WORKER_MAIN,
      ['serve', '--concurrency', '1', '--cache-ttl', '0', '--log-level', 'warn'],
      { env: { PATH: process.env.PATH, REDIS_URL: url('stockpulse-worker') } },
    )
    try {
      const response = await fetch(`http://127.0.0.1:${gateway.port}/api/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ stocks: 300, task_id: 'calc_acl_queue' }),
      })
      expect(await response.json()).toEqual({ task_id: 'calc_acl_queue' })
      await client.next(
        (m) => m.event_type === 'task.completed' && m.task_id === 'calc_acl_queue',
        30_000,
      )
      expectWholeJob(
        client.events().filter((event) => event.task_id === 'calc_acl_queue'),
        300,
      )
      await worker.stop()
      expect(worker.stderr).not.toContain('NOPERM')
    } finally {
      await Promise.all([worker.stop(), client.close()])
    }
  }, 60_000)

  it.each<[User | 'default', string[], RegExp | number | string]>([
    ['default', ['PING'], /^NOAUTH/],
    // The gateway: no forged events, no writes but the runs' keys, no other prefix.
    ['stockpulse-gateway', ['PUBLISH', 'events:tasks', '{}'], /^NOPERM/],
    ['stockpulse-gateway', ['SET', 'stockpulse:tasks', 'x'], /^NOPERM/],
    ['stockpulse-gateway', ['XADD', 'stockpulse:history:events:tasks', '*', 'e', '{}'], /^NOPERM/],
    ['stockpulse-gateway', ['ZADD', 'stockpulse:bull:chunks:wait', '1', 'x'], /^NOPERM/],
    ['stockpulse-gateway', ['SET', 'stockpulse:run:acl:cancel', 'x'], 'OK'],
    ['stockpulse-gateway', ['HSET', 'stockpulse:bull:starts:acl-probe', 'x', '1'], 1],
    // ... but not what only workers write: a run's done-set and failures, the finish and schedule
    // queue (a forged finish job would close a run mid-way).
    ['stockpulse-gateway', ['SADD', 'stockpulse:run-done:acl', 'AAPL'], /^NOPERM/],
    ['stockpulse-gateway', ['RPUSH', 'stockpulse:run-failures:acl', '{}'], /^NOPERM/],
    [
      'stockpulse-gateway',
      ['HSET', 'stockpulse:bull:runs:acl#finish', 'name', 'finish'],
      /^NOPERM/,
    ],
    ['stockpulse-gateway', ['LPUSH', 'stockpulse:bull:runs:wait', 'acl#finish'], /^NOPERM/],
    ['stockpulse-gateway', ['FUNCTION', 'FLUSH'], /^NOPERM/],
    [
      'stockpulse-gateway',
      ['EVAL', "return redis.call('SET', 'stockpulse:cache:x', 'x')", '0'],
      /The user executing the script can't/,
    ],
    ['stockpulse-gateway', ['GET', 'other:secret'], /^NOPERM/],
    ['stockpulse-gateway', ['FLUSHALL'], /^NOPERM/],
    [
      'stockpulse-gateway',
      ['XRANGE', 'stockpulse:history:events:tasks', '-', '+', 'COUNT', '1'],
      /^\[/,
    ],
    // The worker: no other prefix, nothing dangerous, events only.
    ['stockpulse-worker', ['PUBLISH', 'other:channel', 'x'], /^NOPERM/],
    ['stockpulse-worker', ['GET', 'other:secret'], /^NOPERM/],
    ['stockpulse-worker', ['KEYS', '*'], /^NOPERM/],
    ['stockpulse-worker', ['FLUSHALL'], /^NOPERM/],
    ['stockpulse-worker', ['CONFIG', 'SET', 'aclfile', '/tmp/x'], /^NOPERM/],
    ['stockpulse-worker', ['FUNCTION', 'FLUSH'], /^NOPERM/],
    [
      'stockpulse-worker',
      ['EVAL', "return redis.call('PUBLISH', 'other:channel', 'x')", '0'],
      /can't publish to the channel/,
    ],
    ['stockpulse-worker', ['PUBLISH', 'events:market:acl', '{}'], 0],
    // The operator: reads, the runs' keys (submit, cancel), no other writes, no forged events.
    ['stockpulse-operator', ['SET', 'stockpulse:run:acl-op:cancel', 'x'], 'OK'],
    ['stockpulse-operator', ['SADD', 'stockpulse:run-done:acl-op', 'AAPL'], /^NOPERM/],
    ['stockpulse-operator', ['LPUSH', 'stockpulse:bull:runs:wait', 'acl#finish'], /^NOPERM/],
    ['stockpulse-operator', ['PUBLISH', 'events:tasks', '{}'], /^NOPERM/],
    ['stockpulse-operator', ['SET', 'stockpulse:tasks', 'x'], /^NOPERM/],
    ['stockpulse-operator', ['FLUSHALL'], /^NOPERM/],
  ])('%s: %j -> %s', async (user, command, expected) => {
    const reply = await as(user, command)
    if (expected instanceof RegExp) {
      expect(typeof reply === 'string' ? reply : JSON.stringify(reply)).toMatch(expected)
    } else expect(reply).toBe(expected)
  })
})
