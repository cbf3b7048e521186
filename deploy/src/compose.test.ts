import { existsSync } from 'node:fs'
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { allPanels, loadDashboard } from './test-support/dashboard.js'
import { DEPLOY, PROMETHEUS_DIR, REPO } from './test-support/paths.js'
import { run } from './test-support/run.js'

interface Service {
  build?: { context: string; dockerfile: string }
  image?: string
  environment?: Record<string, string>
  volumes?: string[]
  secrets?: string[]
  command?: string[]
}

interface Compose {
  services: Record<string, Service>
  secrets: Record<string, { environment: string }>
}

interface PrometheusConfig {
  rule_files: string[]
  scrape_configs: {
    job_name: string
    authorization?: { type: string; credentials_file: string }
    static_configs: { targets: string[] }[]
  }[]
}

const read = async <T>(file: string): Promise<T> =>
  parse(await readFile(join(DEPLOY, file), 'utf8'), { merge: true }) as T

// Docker cannot run here: what compose.yaml refers to must exist and agree with the Dockerfiles,
// the Prometheus configuration (checked by promtool) and the Grafana provisioning.
describe('compose', () => {
  let compose: Compose
  let prometheus: PrometheusConfig
  beforeAll(async () => {
    compose = await read<Compose>('compose.yaml')
    prometheus = await read<PrometheusConfig>('prometheus/prometheus.yml')
  })

  it('runs Redis, 2 workers, 2 gateways, Prometheus and Grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'gateway-1',
      'gateway-2',
      'grafana',
      'prometheus',
      'redis',
      'worker-1',
      'worker-2',
    ])
  })

  it('builds each app from its Dockerfile, with the repository as the context', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (!service.build) continue
      const app = name.replace(/-\d$/, '')
      expect(resolve(DEPLOY, service.build.context)).toBe(resolve(REPO))
      expect(service.build.dockerfile).toBe(`apps/${app}/Dockerfile`)
      expect(existsSync(join(REPO, service.build.dockerfile))).toBe(true)
    }
  })

  it('mounts only files and directories that exist', () => {
    const sources = Object.values(compose.services).flatMap((service) =>
      (service.volumes ?? [])
        .map((volume) => volume.split(':')[0]!)
        .filter((s) => s.startsWith('.')),
    )
    expect(sources.length).toBeGreaterThan(4)
    expect(sources.filter((source) => !existsSync(join(DEPLOY, source)))).toEqual([])
  })

  it('gives each app its own Redis user of redis/users.acl, turned on by start-redis.sh', async () => {
    const acl = await readFile(join(DEPLOY, 'redis/users.acl'), 'utf8')
    const users = [...acl.matchAll(/^user (\S+) /gm)].map((match) => match[1]!)
    // The password is a ${...} substitution, so the URL is only read up to it.
    const userOf = (service: string) =>
      /^redis:\/\/([^:@]+):/.exec(compose.services[service]?.environment?.REDIS_URL ?? '')?.[1]
    expect(['worker-1', 'worker-2'].map(userOf)).toEqual(['stockpulse-worker', 'stockpulse-worker'])
    expect(['gateway-1', 'gateway-2'].map(userOf)).toEqual([
      'stockpulse-gateway',
      'stockpulse-gateway',
    ])
    const script = await readFile(join(DEPLOY, 'redis/start-redis.sh'), 'utf8')
    const turnedOn = [...script.matchAll(/^turn_on (\S+) /gm)].map((match) => match[1]!)
    expect(turnedOn.sort()).toEqual(users.filter((user) => user !== 'default').sort())
    expect(JSON.stringify(compose.services.redis?.command)).toContain('start-redis.sh')
  })

  it('start-redis.sh refuses to start without every password', async () => {
    const result = await run('sh', [join(DEPLOY, 'redis/start-redis.sh'), '--port', '1'], {
      env: {
        PATH: process.env.PATH,
        ACL_FILE: join(tmpdir(), `stockpulse-acl-${process.pid}`),
        STOCKPULSE_WORKER_REDIS_PASSWORD: 'w',
        STOCKPULSE_GATEWAY_REDIS_PASSWORD: 'g',
      },
    })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('STOCKPULSE_OPERATOR_REDIS_PASSWORD')
    await rm(join(tmpdir(), `stockpulse-acl-${process.pid}`), { force: true })
  })

  it('has Prometheus scrape every worker and gateway on the port it listens on', () => {
    const targets = Object.fromEntries(
      prometheus.scrape_configs.map((job) => [
        job.job_name,
        job.static_configs.flatMap((config) => config.targets).sort(),
      ]),
    )
    const port = (service: Service, variable: string) => service.environment?.[variable]
    expect(targets).toEqual({
      'stockpulse-worker': ['worker-1', 'worker-2'].map(
        (name) => `${name}:${port(compose.services[name]!, 'METRICS_PORT')}`,
      ),
      'stockpulse-gateway': ['gateway-1', 'gateway-2'].map(
        (name) => `${name}:${port(compose.services[name]!, 'PORT')}`,
      ),
    })
    const gatewayJob = prometheus.scrape_configs.find(
      (job) => job.job_name === 'stockpulse-gateway',
    )
    expect(gatewayJob?.authorization).toEqual({
      type: 'Bearer',
      credentials_file: '/run/secrets/gateway_metrics_token',
    })
    expect(compose.services.prometheus?.secrets).toEqual(['gateway_metrics_token'])
    expect(Object.keys(compose.secrets)).toEqual(['gateway_metrics_token'])
    expect(compose.services.prometheus?.volumes).toContain('./prometheus:/etc/prometheus:ro')
  })

  describe('prometheus.yml', () => {
    let dir: string
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'stockpulse-promconfig-'))
      await cp(PROMETHEUS_DIR, dir, { recursive: true })
    })
    afterAll(() => rm(dir, { recursive: true, force: true }))

    it('passes promtool check config, its rules found where compose mounts them', async () => {
      // As in the container, but with the secret file where this machine has it.
      const token = join(dir, 'gateway_metrics_token')
      await writeFile(token, 'a token\n')
      const config = await readFile(join(dir, 'prometheus.yml'), 'utf8')
      await writeFile(
        join(dir, 'prometheus.yml'),
        config.replace('/run/secrets/gateway_metrics_token', token),
      )
      const result = await run('promtool', ['check', 'config', join(dir, 'prometheus.yml')])
      expect(result.code, result.stdout + result.stderr).toBe(0)
      expect(result.stdout).toMatch(/SUCCESS: 1 rule files found/)
      expect(result.stdout).toMatch(/rules\/stockpulse\.rules\.yml/)
    })
  })

  it('has Grafana load the dashboard from where compose mounts it, off the Prometheus of compose', async () => {
    const mounts = Object.fromEntries(
      (compose.services.grafana?.volumes ?? []).map((volume) => volume.split(':').slice(0, 2)),
    ) as Record<string, string>
    const provider = await read<{ providers: { options: { path: string } }[] }>(
      'grafana/provisioning/dashboards/stockpulse.yml',
    )
    expect(mounts['./grafana/dashboards']).toBe(provider.providers[0]?.options.path)
    expect(mounts['./grafana/provisioning']).toBe('/etc/grafana/provisioning')
    const datasources = await read<{ datasources: { uid: string; url: string; type: string }[] }>(
      'grafana/provisioning/datasources/prometheus.yml',
    )
    expect(datasources.datasources).toEqual([
      expect.objectContaining({
        uid: 'stockpulse-prometheus',
        type: 'prometheus',
        url: 'http://prometheus:9090',
      }),
    ])
    const uids = new Set(
      allPanels(loadDashboard()).flatMap((panel) =>
        panel.datasource ? [panel.datasource.uid] : [],
      ),
    )
    expect([...uids]).toEqual(['stockpulse-prometheus'])
  })
})
