import { CloseCode } from '@stockpulse/events'
import { type RawData, WebSocket } from 'ws'
import type { Principal } from './auth.js'
import type { OutboundEvent } from './fanout.js'

/** Longest delay `setTimeout` takes; a later expiry is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** What a connection reports to the gateway that accepted it. */
export interface ConnectionOwner {
  frame(connection: Connection, data: RawData, isBinary: boolean): void
  closed(connection: Connection, code: number): void
  failed(connection: Connection, error: Error): void
}

/**
 * A client socket with its gateway state on the same object (`ws` builds it through the server's
 * `WebSocket` option), so listeners are shared functions and an idle connection stays small.
 */
export class Connection extends WebSocket {
  id = ''
  owner: ConnectionOwner | undefined = undefined
  principal: Principal | undefined = undefined
  /** Events arrive wrapped in `batch` frames (`?batch=1`). */
  batch = false
  readonly channels = new Set<string>()
  /** `Date.now()` of the last frame from the client. */
  lastFrameAt = 0
  invalidFrames = 0
  /** A ping was sent and its pong has not come back. */
  awaitingPong = false
  /** Events routed to this connection during the current tick. */
  readonly queue: OutboundEvent[] = []
  /** While over the buffer cap: the latest `task.progress` per task, not yet written. */
  pending: Map<string, OutboundEvent> | undefined = undefined
  /** The code the gateway closed this connection with, if it did. */
  closedWith: number | undefined = undefined
  /** Subscribes and unsubscribes to run, one after the other; the first one is in progress. */
  readonly work: Array<() => Promise<void>> = []
  /** Subscribe/unsubscribe frames the connection may still send now (a token bucket). */
  subscribeTokens = 0
  /** `Date.now()` when `subscribeTokens` was last refilled; 0 before the first frame. */
  tokensAt = 0
  /** Live events held for it over all channels while it catches up (replay or snapshot). */
  heldEvents = 0
  /** Closes it with TOKEN_EXPIRED when its token's `exp` passes. */
  expiry: NodeJS.Timeout | undefined = undefined
}

/** Wires a freshly accepted connection to its owner. */
export function attach(connection: Connection, owner: ConnectionOwner): void {
  connection.owner = owner
  connection.on('message', onMessage)
  connection.on('pong', onPong)
  connection.on('error', onError)
  connection.on('close', onClose)
}

/** Closes with a code the client can read (after what is already queued). */
export function shut(connection: Connection, code: number, reason: string): void {
  if (connection.readyState !== WebSocket.OPEN) return
  connection.closedWith = code
  connection.close(code, reason)
}

/** Closes with TOKEN_EXPIRED at `expiresAt` (ms since the epoch); the owner clears the timer. */
export function closeAt(connection: Connection, expiresAt: number): void {
  const delay = Math.min(Math.max(expiresAt - Date.now(), 0), MAX_TIMER_MS)
  connection.expiry = setTimeout(() => {
    if (Date.now() < expiresAt) closeAt(connection, expiresAt)
    else shut(connection, CloseCode.TOKEN_EXPIRED, 'token expired')
  }, delay).unref()
}

/** Drops a peer that stopped answering; it will see 1006. */
export function kill(connection: Connection): void {
  connection.closedWith ??= 1006
  connection.terminate()
}

// ---- Shared listeners (`this` is the connection) ----

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const connection = this as Connection
  connection.owner?.frame(connection, data, isBinary)
}

function onPong(this: WebSocket): void {
  ;(this as Connection).awaitingPong = false
}

function onError(this: WebSocket, error: Error): void {
  const connection = this as Connection
  connection.owner?.failed(connection, error)
}

function onClose(this: WebSocket, code: number): void {
  const connection = this as Connection
  connection.owner?.closed(connection, connection.closedWith ?? code)
}
