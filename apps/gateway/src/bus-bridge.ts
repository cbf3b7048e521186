import type { BusListener, EventBus } from '@stockpulse/events'
import type { Bridge, BridgeListener, BridgeState } from './bridge.js'

/** A bridge over an in-process `EventBus` (the demo's `createMemoryBus()`): always `ready`. */
export function createBusBridge(bus: EventBus): Bridge {
  let listener: BridgeListener | undefined
  let state: BridgeState = 'ready'
  const channels = new Set<string>()
  const onMessage: BusListener = (message, channel) => listener?.message(channel, message)
  return {
    kind: 'bus',
    get state() {
      return state
    },
    history: undefined,
    listen(next) {
      listener = next
    },
    subscribe(channel) {
      if (state === 'closed' || channels.has(channel)) return
      channels.add(channel)
      bus.subscribe(channel, onMessage)
    },
    unsubscribe(channel) {
      if (!channels.delete(channel)) return
      bus.unsubscribe(channel, onMessage)
    },
    subscribed: async (channel) => state === 'ready' && channels.has(channel),
    async close() {
      for (const channel of channels) bus.unsubscribe(channel, onMessage)
      channels.clear()
      state = 'closed'
      listener?.state(state)
    },
  }
}
