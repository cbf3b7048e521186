import { describe, expect, it } from 'vitest'
import { createMemoryBus } from './bus.js'

describe('bus', () => {
  it('delivers published messages to the channel subscribers in order, asynchronously', async () => {
    const bus = createMemoryBus()
    const got: string[] = []
    const listener = (message: string, channel: string) => got.push(`${channel} ${message}`)
    bus.subscribe('events:tasks', listener)
    bus.publish('events:tasks', 'a')
    bus.publish('events:system', 'ignored')
    bus.publish('events:tasks', 'b')
    expect(got).toEqual([])
    await Promise.resolve()
    expect(got).toEqual(['events:tasks a', 'events:tasks b'])
  })

  it('stops delivering after unsubscribe', async () => {
    const bus = createMemoryBus()
    const got: string[] = []
    const listener = (message: string) => got.push(message)
    bus.subscribe('events:tasks', listener)
    bus.unsubscribe('events:tasks', listener)
    bus.publish('events:tasks', 'a')
    await Promise.resolve()
    expect(got).toEqual([])
  })
})
