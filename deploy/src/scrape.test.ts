import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TASKS_ALL } from '@stockpulse/events'
import { createRunQueue } from '@stockpulse/runs'
import {
  type NodeProcess,
  type RedisServer,
  startNode,
  startRedisServer,
  until,
} from '@stockpulse/testing'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { parse, stringify } from 'yaml'
import { metricNames } from './promql.js'
import { dashboardQueries, loadDashboard, withGrafanaVariables } from './test-support/dashboard.js'
import { codeBlockAfter } from './test-support/markdown.js'
import { OPERATIONS_DOC, PROMETHEUS_DIR, REPO, RULES_FILE } from './test-support/paths.js'
import { type PrometheusServer, startPrometheus } from './test-support/prometheus.js'
import { allRules, type RuleGroup } from './test-support/rules.js'
import { run } from './test-support/run.js'

const gatewayBin = fileURLToPath(import.meta.resolve('@stockpulse/gateway/package.json')).replace(
  /package\.json$/,
  'dist/main.js',
)
const workerBin = fileURLToPath(import.meta.resolve('@stockpulse/worker/package.json')).replace(
  /package\.json$/,
  'dist/main.js',
)

/** The gateways' AUTH_JWT_SECRET here: auth is on, as in compose. */
const SECRET = 'a-secret-of-at-least-32-characters-for-tests'

/** The two panels that show only while a run is going. */
const RUNNING_ONLY = new Set(['Current run progress', 'Current run elapsed'])

// A real Prometheus, configured as deploy/prometheus/prometheus.yml says (targets and intervals
// aside), with the real rules, scrapes the built gateway (auth on: Prometheus sends the token
// docs/operations.md says how to make) and a worker in `serve` over a private redis-server while a
// run goes through. What the rules and the dashboard ask for must be there.
describe('prometheus scraping the gateway and a worker', () => {
  let dir: string
  let redis: RedisServer
  let gateway: NodeProcess
  let worker: NodeProcess
  let prometheus: PrometheusServer
  const runningAnswers = new Map<string, number>()
  const dashboard = loadDashboard()
  const queries = dashboardQueries(dashboard)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stockpulse-prometheus-'))
    redis = await startRedisServer()
    gateway = startNode(gatewayBin, [], {
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        REDIS_URL: redis.url,
        AUTH_JWT_SECRET: SECRET,
      },
    })
    worker = startNode(workerBin, ['serve'], {
      env: {
        ...process.env,
        REDIS_URL: redis.url,
        METRICS_PORT: '0',
        METRICS_HOST: '127.0.0.1',
        WORKER_CONCURRENCY: '2',
        WORKER_CACHE_TTL_S: '0',
      },
    })
    await gateway.waitFor('"msg":"listening"', 'the gateway to listen')
    await worker.waitFor('"msg":"worker serving"', 'the worker to serve')
    const gatewayPort = logged(gateway.stderr + gateway.stdout, 'listening').port
    const workerPort = logged(worker.stderr, 'metrics listening').port
    const metrics = await fetch(`http://127.0.0.1:${gatewayPort}/metrics`)
    expect(metrics.status, 'the gateway to refuse /metrics without a token').toBe(401)
    await writeFile(join(dir, 'gateway-token'), await documentedMetricsToken())

    prometheus = await startPrometheus(
      await prometheusConfig(dir, { worker: workerPort, gateway: gatewayPort }),
      dir,
    )
    await until(
      async () => (await prometheus.query('up == 1')).length === 2,
      'Prometheus to scrape both targets',
      30_000,
    )

    // A client on the gateway, then a paced run of 700 stocks (two of them fail).
    const userToken = await new SignJWT({ sub: 'scrape-test' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(SECRET))
    const client = new WebSocket(
      `ws://127.0.0.1:${gatewayPort}/ws/events?channels=${TASKS_ALL},events:indicators`,
      { headers: { authorization: `Bearer ${userToken}` } },
    )
    const received: string[] = []
    client.on('message', (data: Buffer) => received.push(data.toString()))
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject))
    const queue = createRunQueue({ url: redis.url, prefix: 'stockpulse:' })
    expect(await queue.submit({ task_id: 'scrape', stocks: 700 }, { pace: 100 })).toMatchObject({
      status: 202,
    })
    await queue.close()
    await until(
      async () =>
        (await prometheus.query('stockpulse_worker_current_run_stocks_processed > 0')).length > 0,
      'Prometheus to see the run going',
      30_000,
    )
    for (const query of queries.filter((q) => RUNNING_ONLY.has(q.panel))) {
      runningAnswers.set(
        query.panel,
        (await prometheus.query(withGrafanaVariables(query.expr))).length,
      )
    }
    await until(
      () => received.some((text) => text.includes('"task.completed"')),
      'the task.completed through the gateway',
      60_000,
    )
    client.close()
    await until(
      async () =>
        (await prometheus.query('stockpulse_worker_runs_finished_total{status="completed"} == 1'))
          .length === 1 &&
        (await prometheus.query('increase(stockpulse_gateway_closes_total[1m])')).length > 0,
      'Prometheus to scrape the finished run and the closed client',
      30_000,
    )
  })
  afterAll(async () => {
    await prometheus?.stop()
    await Promise.all([gateway?.stop(), worker?.stop()])
    await redis?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('scrapes both jobs under the names the rules expect', async () => {
    const up = await prometheus.query('up')
    expect(up.map((sample) => [sample.metric.job, sample.value]).sort()).toEqual([
      ['stockpulse-gateway', 1],
      ['stockpulse-worker', 1],
    ])
  })

  it('holds every metric the rules use', async () => {
    const names = await prometheus.names()
    const used = new Set(allRules().flatMap((rule) => [...metricNames(rule.expr)]))
    const scraped = [...used].filter((name) => !name.startsWith('stockpulse:'))
    expect(scraped.length).toBeGreaterThan(10)
    expect(scraped.filter((name) => !names.has(name))).toEqual([])
  })

  it('holds every metric the dashboard queries', async () => {
    const names = await prometheus.names()
    const used = new Set(queries.flatMap((query) => [...metricNames(query.expr)]))
    expect(used.size).toBeGreaterThan(20)
    expect([...used].filter((name) => !names.has(name))).toEqual([])
  })

  it('answers every dashboard query with data (the running-run panels during the run)', async () => {
    const empty: string[] = []
    for (const query of queries) {
      const answer = RUNNING_ONLY.has(query.panel)
        ? runningAnswers.get(query.panel)
        : (await prometheus.query(withGrafanaVariables(query.expr))).length
      if (!answer) empty.push(`${query.panel} ${query.refId}: ${query.expr}`)
    }
    expect(empty).toEqual([])
  })

  it('evaluates every rule without an error', async () => {
    const expected = allRules().length
    await until(
      async () => {
        const rules = await prometheus.rules()
        return rules.length === expected && rules.every((rule) => rule.health !== 'unknown')
      },
      'every rule to be evaluated',
      30_000,
    )
    const failing = (await prometheus.rules()).filter((rule) => rule.health !== 'ok')
    expect(failing).toEqual([])
    // The rules are evaluated once a minute: the evaluation after the run's scrape records it.
    const since = Date.now() / 1000 - 600
    await until(
      async () =>
        ((await prometheus.query('stockpulse:worker_last_success_timestamp_seconds'))[0]?.value ??
          0) > since,
      'the recording rule to record the finished run (next evaluation of its 1m group)',
      90_000,
    )
  })
})

/**
 * deploy/prometheus/prometheus.yml with these targets, 1 s intervals and its rules evaluated
 * every second (copied into `dir`), the gateway's token read from `dir`/gateway-token.
 */
async function prometheusConfig(
  dir: string,
  ports: { worker: number; gateway: number },
): Promise<object> {
  const config = parse(await readFile(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as {
    global: Record<string, string>
    rule_files: string[]
    scrape_configs: {
      job_name: string
      authorization?: { credentials_file: string }
      static_configs: { targets: string[] }[]
    }[]
  }
  const rules = parse(await readFile(RULES_FILE, 'utf8')) as { groups: RuleGroup[] }
  await mkdir(join(dir, 'rules'))
  await writeFile(
    join(dir, 'rules', 'stockpulse.rules.yml'),
    stringify({ groups: rules.groups.map((group) => ({ ...group, interval: '1s' })) }),
  )
  const targets: Record<string, number> = {
    'stockpulse-worker': ports.worker,
    'stockpulse-gateway': ports.gateway,
  }
  return {
    ...config,
    global: { ...config.global, scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: ['rules/*.rules.yml'],
    scrape_configs: config.scrape_configs.map((job) => {
      const port = targets[job.job_name]
      if (port === undefined) throw new Error(`unexpected job ${job.job_name}`)
      return {
        ...job,
        ...(job.authorization
          ? {
              authorization: { ...job.authorization, credentials_file: join(dir, 'gateway-token') },
            }
          : {}),
        static_configs: [{ targets: [`127.0.0.1:${port}`] }],
      }
    }),
  }
}

// The token for Prometheus, made by the command of docs/operations.md, run in the gateway's
// package (where `jose` is, as in its bundle) with this test's secret.
async function documentedMetricsToken(): Promise<string> {
  const block = codeBlockAfter(
    await readFile(OPERATIONS_DOC, 'utf8'),
    "Prometheus and the gateway's token",
  )
  const script = /node --input-type=module -e "([\s\S]*)"\s*$/.exec(block.trim())?.[1]
  if (!script) throw new Error(`no node command in:\n${block}`)
  const made = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: join(REPO, 'apps/gateway'),
    env: { PATH: process.env.PATH, AUTH_JWT_SECRET: SECRET },
  })
  if (made.code !== 0) throw new Error(`the documented command failed: ${made.stderr}`)
  return made.stdout
}

// The fields of a process's JSON log line with this `msg`.
function logged(output: string, msg: string): { port: number } {
  const line = output.split('\n').find((text) => text.includes(`"msg":"${msg}"`))
  if (!line) throw new Error(`no "${msg}" line in:\n${output}`)
  return JSON.parse(line) as { port: number }
}
