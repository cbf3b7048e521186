import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ClientReport } from './clients.js'

// What the benchmarks share: paths, waiting for servers and client fleets, number formatting.

/** A path next to the compiled benchmark. */
export const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

/** The next report of `type` from a client fleet (bench/clients.ts). */
export function report<T extends ClientReport['type']>(
  fleet: ChildProcess,
  type: T,
  timeoutMs: number,
): Promise<Extract<ClientReport, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      fleet.off('message', onMessage)
      reject(new Error(`no ${type} within ${timeoutMs} ms`))
    }, timeoutMs)
    const onMessage = (message: ClientReport) => {
      if (message.type !== type) return
      clearTimeout(timer)
      fleet.off('message', onMessage)
      resolve(message as Extract<ClientReport, { type: T }>)
    }
    fleet.on('message', onMessage)
  })
}

export function fmt(value: number | undefined, digits: number): string {
  if (value === undefined) return 'timed out'
  return value.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  })
}
