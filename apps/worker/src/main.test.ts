import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TASKS_ALL } from '@stockpulse/events'
import { freePort, startNode } from '@stockpulse/testing'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { usage } from './options.js'
import { recordEvents, uniqueId } from './test-support/events.js'
import { dropKeys } from './test-support/redis.js'

const bin = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const prefix = `${uniqueId('cli')}:`

// Runs the built CLI to its end.
async function cli(args: string[], env: Record<string, string> = {}) {
  const run = startNode(bin, args, {
    env: { ...process.env, KEY_PREFIX: prefix, WORKER_CACHE_TTL_S: '60', ...env },
  })
  const { code } = await run.exited
  return { code, stdout: run.stdout, stderr: run.stderr }
}

describe('main', () => {
  let dir: string
  const redis = createClient({ url: 'redis://127.0.0.1:6379' })
  const quiet = `${uniqueId('nohist')}:`
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stockpulse-worker-'))
    await redis.connect()
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
    await dropKeys(redis, prefix)
    await dropKeys(redis, quiet)
    redis.destroy()
  })

  it('runs one job against Redis and prints the summary as one JSON line', async () => {
    const taskId = uniqueId('cli')
    const recorder = await recordEvents('redis://127.0.0.1:6379', [TASKS_ALL])
    const { code, stdout, stderr } = await cli([
      'run',
      '--stocks',
      '300',
      '--json',
      '--task-id',
      taskId,
    ])
    expect(code, stderr).toBe(0)
    const lines = stdout.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0]!)).toMatchObject({
      task_id: taskId,
      status: 'completed',
      total: 300,
      success: 299,
      failed: 1,
      events_dropped: 0,
      failures: [{ stock_code: '600033' }],
    })
    const logs = stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(logs.map((log) => log.msg)).toContain('task started')
    expect(logs.find((log) => log.msg === 'progress')).toMatchObject({
      service: 'worker',
      level: 30,
    })
    await recorder.until(
      () => recorder.of(taskId).at(-1)?.event.event_type === 'task.completed',
      'task.completed',
    )
    // start, 102 progress events (every 3 stocks, re-based at 50, 100, ...), completed
    expect(recorder.of(taskId)).toHaveLength(1 + 102 + 1)
    expect(recorder.of(taskId).filter((r) => !r.event.position)).toEqual([])
    await recorder.close()
  })

  it('publishes plainly with WORKER_HISTORY_MAXLEN=0: no positions, no streams, no task state', async () => {
    const taskId = uniqueId('cli')
    const recorder = await recordEvents('redis://127.0.0.1:6379', [TASKS_ALL])
    const { code, stderr } = await cli(['run', '--stocks', '30', '--task-id', taskId], {
      WORKER_HISTORY_MAXLEN: '0',
      KEY_PREFIX: quiet,
      WORKER_CACHE_TTL_S: '0',
    })
    expect(code, stderr).toBe(0)
    await recorder.until(
      () => recorder.of(taskId).at(-1)?.event.event_type === 'task.completed',
      'task.completed',
    )
    expect(recorder.of(taskId).length).toBeGreaterThan(2)
    expect(recorder.of(taskId).filter((r) => r.event.position !== undefined)).toEqual([])
    const written: string[] = []
    for await (const keys of redis.scanIterator({ MATCH: `${quiet}*`, COUNT: 10_000 }))
      written.push(...keys)
    expect(written).toEqual([`${quiet}results:${taskId}`])
    await recorder.close()
  })

  it('writes the results to a .jsonl or .csv file', async () => {
    const jsonl = join(dir, 'out.jsonl')
    const csv = join(dir, 'out.csv')
    for (const args of [
      ['--out', jsonl],
      ['--out', csv, '--indicators', 'SMA_5,MACD'],
    ]) {
      const { code, stderr } = await cli(['run', '--stocks', '120', ...args])
      expect(code, stderr).toBe(0)
    }
    const rows = (await readFile(jsonl, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(rows).toHaveLength(120)
    expect(rows[0]).toMatchObject({
      stock_code: '000001',
      latest: { SMA_5: { sma: expect.any(Number) } },
    })
    expect(rows[100]).toMatchObject({
      stock_code: '600033',
      errors: [{ reason: expect.stringMatching(/^too short/) }],
    })
    const table = (await readFile(csv, 'utf8')).trim().split('\n')
    expect(table[0]).toBe(
      'stock_code,trade_date,status,SMA_5.sma,MACD.macd,MACD.signal,MACD.hist,errors',
    )
    expect(table).toHaveLength(121)
    expect(table[1]).toMatch(/^000001,\d{4}-\d{2}-\d{2},ok,[\d.]+,-?[\d.]+,-?[\d.]+,-?[\d.e-]+,$/)
  })

  it('keeps computing with Redis down from the start, and reports every event as dropped', async () => {
    const { code, stdout, stderr } = await cli([
      'run',
      '--stocks',
      '50',
      '--json',
      '--redis',
      `redis://127.0.0.1:${await freePort()}`,
    ])
    expect(code, stderr).toBe(0)
    // start + 50 stocks + 50 snapshots + 50 progress + completed
    expect(JSON.parse(stdout)).toMatchObject({
      status: 'completed',
      success: 50,
      events_dropped: 152,
    })
    const warnings = stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((log) => log.level === 40)
      .map((log) => log.msg)
    expect(warnings).toEqual([
      'redis unreachable: computing goes on, events are dropped, reconnecting in the background',
    ])
  })

  it('exits 2 with the bad variable named, and prints usage with defaults on --help', async () => {
    expect(await cli(['run', '--stocks', 'abc'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'stockpulse-worker: --stocks must be an integer from 1 to 100000, got "abc"\n',
    })
    expect(await cli(['serve'], { WORKER_SCHEDULE: 'at 4pm' })).toMatchObject({
      code: 2,
      stderr:
        'stockpulse-worker: WORKER_SCHEDULE must be a cron pattern (5 fields, or 6 with seconds first), got "at 4pm"\n',
    })
    const help = await cli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toBe(usage())
    expect(help.stdout).toContain('env KEY_PREFIX; a non-empty string; default stockpulse:')
  })
})
