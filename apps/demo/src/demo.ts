import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { createMemoryBus } from '@stockpulse/events'
import {
  createBusBridge,
  createGateway,
  createLogger as createGatewayLogger,
  loadConfig,
} from '@stockpulse/gateway'
import type { StopSignal } from '@stockpulse/lifecycle'
import {
  createLogger as createWorkerLogger,
  createWorkerService,
  parseConfig,
} from '@stockpulse/worker'

/** A running demo; `stop()` ends it the way a signal ends the separate services. */
export interface Demo {
  /** `redis`: gateway and worker are separate processes talking over Redis. `memory`: one process. */
  readonly mode: 'redis' | 'memory'
  readonly port: number
  /**
   * Resolves with the exit code once both services have stopped: 0 when each stopped cleanly
   * after `stop()`, 1 when one failed or ended on its own (the other is then stopped too).
   */
  readonly exited: Promise<number>
  /** Stops both services as `signal` would stop each of them. */
  stop(signal: StopSignal): void
}

const gatewayMain = fileURLToPath(import.meta.resolve('@stockpulse/gateway')).replace(
  /index\.js$/,
  'main.js',
)
const workerMain = fileURLToPath(import.meta.resolve('@stockpulse/worker')).replace(
  /index\.js$/,
  'main.js',
)

/**
 * Gateway and worker as child processes over Redis, as they are deployed. Each has a process
 * group of its own, so a Ctrl-C reaches them once, through `stop()`, not twice (which would
 * force them out); they are killed if this process exits first.
 */
export async function startOverRedis(env: NodeJS.ProcessEnv, log: (line: string) => void) {
  const services = [
    { name: 'gateway', child: start(gatewayMain, [], env) },
    { name: 'worker', child: start(workerMain, ['serve', '--demo'], env) },
  ]
  let stopping = false
  // Once: a second SIGTERM would make a service give up its clean stop.
  const stop = (signal: StopSignal = 'SIGTERM') => {
    if (stopping) return
    stopping = true
    for (const { child } of services) if (child.exitCode === null) child.kill(signal)
  }
  const orphaned = () => {
    for (const { child } of services) if (child.exitCode === null) child.kill('SIGKILL')
  }
  process.once('exit', orphaned)
  const outcomes = services.map(async ({ name, child }) => {
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null]
    // Ending before being asked to is a failure too, even with code 0.
    const clean = stopping && code === 0
    if (!clean) {
      log(`the ${name} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`)
    }
    // When one service ends, the demo is over: stop the other too.
    stop()
    return clean
  })
  const exited = Promise.all(outcomes).then((clean) => {
    process.off('exit', orphaned)
    return clean.every(Boolean) ? 0 : 1
  })
  return { mode: 'redis', port: Number(loadConfig(env).port), exited, stop } satisfies Demo
}

/** Gateway and worker in this process over an in-process bus: nothing to install. */
export async function startInMemory(env: NodeJS.ProcessEnv): Promise<Demo> {
  const bus = createMemoryBus()
  const gatewayConfig = loadConfig(env)
  const gateway = createGateway({
    bridge: createBusBridge(bus),
    config: gatewayConfig,
    logger: createGatewayLogger(gatewayConfig.logLevel),
  })
  const workerConfig = parseConfig(['serve', '--demo'], env)
  const worker = createWorkerService({
    config: workerConfig,
    bus,
    logger: createWorkerLogger(workerConfig.logLevel),
  })
  const address = await gateway.listen()
  worker.warmUp()
  worker.start()
  let stopped: Promise<number> | undefined
  let resolveExit: (code: number) => void = () => {}
  const exited = new Promise<number>((resolve) => {
    resolveExit = resolve
  })
  return {
    mode: 'memory',
    port: address.port,
    exited,
    stop(signal) {
      stopped ??= worker
        .stop(signal)
        .then(() => gateway.close())
        .then(
          () => 0,
          () => 1,
        )
      void stopped.then(resolveExit)
    },
  }
}

function start(main: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [main, ...args], {
    env,
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
  })
}
