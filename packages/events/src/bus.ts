/** Receives one message published on a channel the listener subscribed to. */
export type BusListener = (message: string, channel: string) => void

/**
 * The Pub/Sub seam between the worker and the gateway: Redis in production, memory in the
 * zero-setup demo. Messages are encoded events, passed on byte for byte.
 */
export interface EventBus {
  publish(channel: string, message: string): void
  subscribe(channel: string, listener: BusListener): void
  unsubscribe(channel: string, listener: BusListener): void
}

/** An in-process EventBus. Delivery is asynchronous (a microtask later), as it is over Redis. */
export function createMemoryBus(): EventBus {
  const listeners = new Map<string, Set<BusListener>>()
  return {
    publish(channel, message) {
      const subscribed = listeners.get(channel)
      if (!subscribed) return
      const targets = [...subscribed]
      queueMicrotask(() => {
        for (const listener of targets) listener(message, channel)
      })
    },
    subscribe(channel, listener) {
      const subscribed = listeners.get(channel) ?? new Set()
      subscribed.add(listener)
      listeners.set(channel, subscribed)
    },
    unsubscribe(channel, listener) {
      const subscribed = listeners.get(channel)
      subscribed?.delete(listener)
      if (subscribed?.size === 0) listeners.delete(channel)
    },
  }
}
