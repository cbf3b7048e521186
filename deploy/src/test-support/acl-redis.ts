import { join } from 'node:path'
import { startRedisServer } from '@stockpulse/testing'
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
  /** `redis://user:password@127.0.0.1:port`. */
  url(user: RedisUser): string
  stop(): Promise<void>
}

/** Runs start-redis.sh with the users.acl as shipped; the file with the hashes goes to `dir`. */
export async function startAclRedis(dir: string): Promise<AclRedis> {
  const server = await startRedisServer({
    launcher: ['sh', join(DEPLOY, 'redis/start-redis.sh')],
    env: {
      PATH: process.env.PATH,
      ACL_FILE: join(dir, 'users.acl'),
      STOCKPULSE_WORKER_REDIS_PASSWORD: REDIS_PASSWORDS['stockpulse-worker'],
      STOCKPULSE_GATEWAY_REDIS_PASSWORD: REDIS_PASSWORDS['stockpulse-gateway'],
      STOCKPULSE_OPERATOR_REDIS_PASSWORD: REDIS_PASSWORDS['stockpulse-operator'],
    },
  })
  return {
    url: (user) => `redis://${user}:${REDIS_PASSWORDS[user]}@127.0.0.1:${server.port}`,
    stop: () => server.stop(),
  }
}
