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
import {
  createLogger as createWorkerLogger,
  createWorkerService,
  parseConfig,
} from '@stockpulse/worker'

/** A running demo; `stop()` ends it the way SIGTERM ends the separate services. */
export interface Demo {
  /** `redis`: gateway and worker are separate processes talking over Redis. `memory`: one process. */
  readonly mode: 'redis' | 'memory'
  readonly port: number
  /** Resolves with the exit code once both services have stopped. */
  readonly exited: Promise<number>
  stop(): void
}

const gatewayMain = fileURLToPath(import.meta.resolve('@stockpulse/gateway')).replace(
  /index\.js$/,
  'main.js',
)
const workerMain = fileURLToPath(import.meta.resolve('@stockpulse/worker')).replace(
  /index\.js$/,
  'main.js',
)

/** Gateway and worker as child processes over Redis, as they are deployed. */
export async function startOverRedis(env: NodeJS.ProcessEnv): Promise<Demo> {
  const gateway = spawn(process.execPath, [gatewayMain], {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const worker = spawn(process.execPath, [workerMain, 'serve', '--demo'], {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const children = [gateway, worker]
  const stop = () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  }
  // When one service dies, the demo is over: stop the other too.
  for (const child of children) child.once('exit', stop)
  const exited = Promise.all(children.map(exitCode)).then((codes) => Math.max(...codes))
  return { mode: 'redis', port: Number(loadConfig(env).port), exited, stop }
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
  let resolveExit: (code: number) => void = () => {}
  const exited = new Promise<number>((resolve) => {
    resolveExit = resolve
  })
  let stopping = false
  return {
    mode: 'memory',
    port: address.port,
    exited,
    stop() {
      if (stopping) return
      stopping = true
      worker
        .stop('SIGTERM')
        .then(() => gateway.close())
        .then(
          () => resolveExit(0),
          () => resolveExit(1),
        )
    },
  }
}

async function exitCode(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return child.exitCode
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null]
  return code ?? (signal === 'SIGTERM' ? 0 : 1)
}
