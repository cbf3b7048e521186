import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { waitForPort } from './wait.js'

/** A redis-server child process owned by one test file, on its own port, keeping nothing on disk. */
export interface RedisServer {
  readonly port: number
  readonly url: string
  /** Kills the server (SIGKILL, like a crash); its data is gone. */
  kill(): Promise<void>
  /** Starts it again on the same port, empty. */
  start(): Promise<void>
  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered, like a hung host. */
  pause(): void
  /** Thaws a paused server (SIGCONT). */
  resume(): void
  /** Kills it for good. */
  stop(): Promise<void>
}

export interface RedisServerOptions {
  /** More `redis-server` arguments, e.g. `['--aclfile', path]`. */
  readonly args?: readonly string[]
  /**
   * A program that ends by exec-ing `redis-server` with the arguments it is given, run instead of
   * `redis-server` itself, e.g. `['sh', 'deploy/redis/start-redis.sh']`.
   */
  readonly launcher?: readonly string[]
  /** The environment of `launcher` (or of `redis-server`); this process's by default. */
  readonly env?: NodeJS.ProcessEnv
}

/** Starts `redis-server` on a free loopback port and waits until it accepts connections. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const { args = [], launcher = ['redis-server'], env = process.env } = options
  const [program = 'redis-server', ...launcherArgs] = launcher
  const port = await freePort()
  let child: ChildProcess | undefined
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (child) return
      child = spawn(
        program,
        [
          ...launcherArgs,
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--loglevel',
          'warning',
          ...args,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], env },
      )
      let stderr = ''
      child.stderr?.on('data', (chunk) => {
        stderr += chunk
      })
      const exited = once(child, 'exit')
      let listening = false
      const failed = exited.then(([code]) => {
        if (!listening) throw new Error(`${program} exited (${code}) before listening: ${stderr}`)
      })
      await Promise.race([waitForPort(port, 5_000), failed])
      listening = true
    },
    async kill() {
      const running = child
      child = undefined
      if (!running || running.exitCode !== null) return
      const exited = once(running, 'exit')
      running.kill('SIGKILL')
      await exited
    },
    pause() {
      child?.kill('SIGSTOP')
    },
    resume() {
      child?.kill('SIGCONT')
    },
    stop: () => server.kill(),
  }
  await server.start()
  return server
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  const probe = createServer()
  probe.listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const address = probe.address()
  probe.close()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}
