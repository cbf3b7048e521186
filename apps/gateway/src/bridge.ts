import type { History } from './history.js'

/** `ready`: messages flow. `connecting`/`down`: no messages until `ready` again. `closed`: for good. */
export type BridgeState = 'connecting' | 'ready' | 'down' | 'closed'

/** What the gateway hears from a bridge. */
export interface BridgeListener {
  /** One message published on a channel the gateway subscribed to, exactly as published. */
  message(channel: string, text: string): void
  /** The bridge changed state; `ready` comes only once every wanted channel is subscribed. */
  state(state: BridgeState): void
}

/**
 * Where events come from: Redis Pub/Sub in production, an in-process `EventBus` in the one-command
 * demo. The gateway subscribes a channel when its first client wants it and unsubscribes it when
 * its last client leaves; a bridge keeps those subscriptions across reconnects by itself.
 */
export interface Bridge {
  readonly kind: 'redis' | 'bus'
  readonly state: BridgeState
  /** Reads of the worker's history (Redis); the bus keeps none, so resumes get no replay there. */
  readonly history: History | undefined
  /** Sets the one listener; messages and state changes before this are not replayed. */
  listen(listener: BridgeListener): void
  subscribe(channel: string): void
  unsubscribe(channel: string): void
  /**
   * Resolves `true` once every message published on `channel` from now on will be heard (the
   * subscription is confirmed and the bridge ready), `false` when that cannot be promised now.
   * With `waitForStart`, a bridge still connecting for the first time waits a few seconds for
   * `ready` first: clients resuming on a gateway that just started still get their replay.
   */
  subscribed(channel: string, options?: { readonly waitForStart?: boolean }): Promise<boolean>
  /** Unsubscribes everything and disconnects; the state becomes `closed`. */
  close(): Promise<void>
}
