import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { freePort, until } from '@stockpulse/testing'
import { stringify } from 'yaml'

/** One series of an instant query. */
export interface QuerySample {
  readonly metric: Record<string, string>
  readonly value: number
}

/** A `prometheus` child process on 127.0.0.1, storing into a directory of the test's own. */
export interface PrometheusServer {
  readonly url: string
  /** An instant query; rejects with Prometheus' error when the expression is refused. */
  query(expr: string): Promise<QuerySample[]>
  /** Every metric name Prometheus holds (`/api/v1/label/__name__/values`). */
  names(): Promise<Set<string>>
  /** The rules as Prometheus loaded and evaluated them (`/api/v1/rules`). */
  rules(): Promise<LoadedRule[]>
  readonly stderr: string
  stop(): Promise<void>
}

export interface LoadedRule {
  readonly name: string
  readonly type: 'recording' | 'alerting'
  readonly health: 'ok' | 'err' | 'unknown'
  readonly lastError?: string
}

/**
 * Writes `config` to `dir`/prometheus.yml and starts Debian's `prometheus` on a free loopback
 * port with its storage in `dir`/data; resolves once it reports ready.
 */
export async function startPrometheus(config: object, dir: string): Promise<PrometheusServer> {
  const file = join(dir, 'prometheus.yml')
  await writeFile(file, stringify(config))
  const port = await freePort()
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${file}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  const exited = once(child, 'exit')
  const url = `http://127.0.0.1:${port}`
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`)
    const body = (await res.json()) as { status: string; data: T; error?: string }
    if (body.status !== 'success') throw new Error(`${path}: ${body.error}`)
    return body.data
  }
  try {
    await until(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode})`)
        return (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200
      },
      'prometheus to be ready',
      30_000,
    )
  } catch (error) {
    child.kill('SIGKILL')
    throw new Error(`${(error as Error).message}; stderr:\n${stderr}`)
  }

  return {
    url,
    get stderr() {
      return stderr
    },
    async query(expr) {
      const data = await api<{
        result: { metric: Record<string, string>; value: [number, string] }[]
      }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)
      return data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }))
    },
    async names() {
      return new Set(await api<string[]>('/api/v1/label/__name__/values'))
    },
    async rules() {
      const data = await api<{ groups: { rules: LoadedRule[] }[] }>('/api/v1/rules')
      return data.groups.flatMap((group) => group.rules)
    },
    async stop() {
      if (child.exitCode !== null) return
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      child.kill('SIGTERM')
      await exited
      clearTimeout(timer)
    },
  }
}
