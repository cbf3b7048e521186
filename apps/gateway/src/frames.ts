import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import * as ws from 'ws'

// Events are framed once and the same bytes are written to every socket, as Socket.IO does
// (`WebSocket.Sender.frame` + `sender.sendFrame`, see websockets/ws#617). That is safe because
// the server never compresses (`perMessageDeflate: false`) and never sends Blobs, so a socket's
// Sender has no queue that a pre-framed write could overtake.

/** The parts of a `ws` socket that pre-framed writes use. */
interface SocketInternals {
  readonly _socket: Socket
  readonly _sender: { sendFrame(list: readonly Buffer[]): void }
}

interface FrameOptions {
  readonly fin: boolean
  readonly opcode: number
  readonly mask: boolean
  readonly readOnly: boolean
  readonly rsv1: boolean
}
// `Sender` is exported by ws's ESM entry but missing from @types/ws.
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] }
}
const TEXT: FrameOptions = { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false }

/** One unmasked, final text frame holding `text`, as a single buffer ready for any socket. */
export function textFrame(text: string): readonly Buffer[] {
  const parts = Sender.frame(Buffer.from(text), TEXT)
  return [Buffer.concat(parts)]
}

/** Writes a frame made by `textFrame`; the caller checked that `ws` is OPEN. */
export function writeFrame(ws: WebSocket, frame: readonly Buffer[]): void {
  ;(ws as unknown as SocketInternals)._sender.sendFrame(frame)
}

/** Holds writes to `ws` until `uncork`, so one tick's frames leave in one system call. */
export function cork(ws: WebSocket): void {
  ;(ws as unknown as SocketInternals)._socket.cork()
}

export function uncork(ws: WebSocket): void {
  ;(ws as unknown as SocketInternals)._socket.uncork()
}

/**
 * Resolves `true` once the socket of `ws` has written what it holds, or is closed; `false` when
 * it still holds it after `timeoutMs`.
 */
export function drained(ws: WebSocket, timeoutMs: number): Promise<boolean> {
  const socket = (ws as unknown as SocketInternals)._socket
  if (socket.destroyed || !socket.writableNeedDrain) return Promise.resolve(true)
  return new Promise((resolve) => {
    const settle = (done: boolean) => {
      clearTimeout(timer)
      socket.off('drain', onDrain)
      socket.off('close', onDrain)
      resolve(done)
    }
    const onDrain = () => settle(true)
    const timer = setTimeout(settle, timeoutMs, false)
    socket.on('drain', onDrain)
    socket.on('close', onDrain)
  })
}

/** The contract's `batch` frame around already-encoded events, by concatenation. */
export function batchText(events: readonly string[]): string {
  return `{"type":"batch","events":[${events.join(',')}]}`
}
