import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { freePort, waitForPort } from '@stockpulse/testing'
import { DEPLOY } from './paths.js'

/** The users deploy/redis/start-redis.sh turns on, with the passwords the tests give them. */
export const REDIS_PASSWORDS = {
  'stockpulse-worker': 'worker-secret-for-tests',
  'stockpulse-gateway': 'gateway-secret-for-tests',
  'stockpulse-operator': 'operator-secret-for-tests',
} as const
export type RedisUser = keyof typeof REDIS_PASSWORDS

/** A redis-server started by deploy/redis/start-redis.sh, as compose starts it, on loopback. */
export interface AclRedis {
  readonly port: number
  /** `redis://user:password@127.0.0.1:port`. */
  url(user: RedisUser): string
  stop(): Promise<void>
}

/** Runs start-redis.sh with the users.acl as shipped; the file with the hashes goes to `dir`. */
export async function startAclRedis(dir: string): Promise<AclRedis> {
  const port = await freePort()
  const child: ChildProcess = spawn(
    'sh',
    [
      join(DEPLOY, 'redis/start-redis.sh'),
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    {
      env: {
        PATH: process.env.PATH,
        ACL_FILE: join(dir, 'users.acl'),
        STOCKPULSE_WORKER_REDIS_PASSWORD: REDIS_PASSWORDS['stockpulse-worker'],
        STOCKPULSE_GATEWAY_REDIS_PASSWORD: REDIS_PASSWORDS['stockpulse-gateway'],
        STOCKPULSE_OPERATOR_REDIS_PASSWORD: REDIS_PASSWORDS['stockpulse-operator'],
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  let stderr = ''
  child.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  const exited = once(child, 'exit')
  let ready = false
  const failed = exited.then(([code]) => {
    if (!ready) throw new Error(`start-redis.sh exited (${code}): ${stderr}`)
  })
  try {
    await Promise.race([waitForPort(port, 10_000), failed])
    ready = true
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
  return {
    port,
    url: (user) => `redis://${user}:${REDIS_PASSWORDS[user]}@127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGKILL')
      await exited
    },
  }
}
