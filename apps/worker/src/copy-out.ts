import type { DatabaseClient } from './database.js'

// Backend message types (PostgreSQL protocol, "Message Formats").
const COPY_OUT_RESPONSE = 0x48 // 'H'
const COPY_DATA = 0x64 // 'd'
const COPY_DONE = 0x63 // 'c'
const ERROR_RESPONSE = 0x45 // 'E'
const HEADER = 5
/** Messages the server may send at any time: NoticeResponse, ParameterStatus, NotificationResponse. */
const ASYNC = new Set([0x4e, 0x53, 0x41])

// What a node-postgres query object receives, as far as a COPY out uses it.
interface Connection {
  readonly stream: NodeJS.ReadableStream
  query(text: string): void
}

/**
 * Runs `COPY ... TO STDOUT` on `client` and hands its data to `onData` as it arrives: the
 * CopyData payloads of each socket read in one buffer, valid only during the call. Nothing is
 * allocated per message (PostgreSQL sends one per row; pg-copy-streams' `to` slices each).
 * Resolves once the server is ready again; rejects with the server's error (the connection is
 * then usable), or with what `onData` threw, a message a COPY out cannot have (another statement,
 * a stream out of step) or a client-side error such as node-postgres' query_timeout: in those
 * the connection is left unread, so release it destroyed. Notices that arrive during the COPY
 * are dropped.
 */
export function copyOut(
  client: DatabaseClient,
  sql: string,
  onData: (data: Buffer) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    client.query(new CopyOut(sql, onData, resolve, reject) as never)
  })
}

/** The messages of a COPY out, fed socket read by socket read. */
export interface CopyDataReader {
  push(chunk: Buffer): void
}

/**
 * Walks the backend's messages: CopyData payloads are moved to the start of the chunk they
 * arrived in (never past what is still unread) and handed to `onData` together, one call per
 * chunk; other messages (CopyOutResponse, notices) are skipped. At CopyDone or an ErrorResponse,
 * `onEnd` gets the bytes from that message on (the caller's protocol parser reads them) and the
 * reader takes nothing more. `push` mutates the chunks it is given.
 */
export function createCopyDataReader(
  onData: (data: Buffer) => void,
  onEnd: (rest: Buffer) => void,
): CopyDataReader {
  const header = Buffer.alloc(HEADER)
  let headerBytes = 0
  // Bytes of the current message still to come, and whether they are CopyData.
  let remaining = 0
  let copying = false
  let ended = false
  let started = false

  return {
    push(chunk) {
      if (ended) throw new Error('copyOut: data after the end of the COPY')
      const size = chunk.length
      let at = 0
      let out = 0
      for (;;) {
        if (remaining > 0) {
          const n = Math.min(remaining, size - at)
          if (copying) {
            chunk.copyWithin(out, at, at + n)
            out += n
          }
          at += n
          remaining -= n
          if (remaining > 0) break
        }
        // The next header, from this chunk or completed from the end of the last one.
        let code: number
        let length: number
        if (headerBytes === 0 && at + HEADER <= size) {
          code = chunk[at]!
          length = chunk.readInt32BE(at + 1)
        } else {
          const take = Math.min(HEADER - headerBytes, size - at)
          chunk.copy(header, headerBytes, at, at + take)
          headerBytes += take
          if (headerBytes < HEADER) break
          code = header[0]!
          length = header.readInt32BE(1)
          // Where the message starts: before this chunk when its header began in the last one.
          at += take - HEADER
          headerBytes = 0
        }
        // Anything but a COPY out's own messages (a SELECT's rows, CopyInResponse, a reader out of
        // step) would never end: refuse it, and the caller drops the connection.
        const expected = started
          ? code === COPY_DATA || code === COPY_DONE || code === ERROR_RESPONSE || ASYNC.has(code)
          : code === COPY_OUT_RESPONSE || code === ERROR_RESPONSE || ASYNC.has(code)
        if (!expected || length < 4) {
          ended = true
          throw new Error(
            `copyOut: unexpected message ${JSON.stringify(String.fromCharCode(code))} (length ${length}) in a COPY out`,
          )
        }
        if (code === COPY_OUT_RESPONSE) started = true
        if (code === ERROR_RESPONSE || code === COPY_DONE) {
          ended = true
          if (out > 0) onData(chunk.subarray(0, out))
          onEnd(at < 0 ? Buffer.concat([header, chunk.subarray(at + HEADER)]) : chunk.subarray(at))
          return
        }
        at += HEADER
        copying = code === COPY_DATA
        remaining = length - 4
        if (remaining > 0 && at >= size) break
      }
      if (out > 0) onData(chunk.subarray(0, out))
    },
  }
}

// ---- The node-postgres query object ----

class CopyOut {
  private connection: Connection | undefined
  private pgData: ((chunk: Buffer) => void) | undefined
  private failure: Error | undefined
  private settled = false
  private readonly reader: CopyDataReader
  private readonly onChunk = (chunk: Buffer) => this.receive(chunk)

  constructor(
    private readonly text: string,
    onData: (data: Buffer) => void,
    private readonly resolve: () => void,
    private readonly reject: (error: Error) => void,
  ) {
    this.reader = createCopyDataReader(onData, (rest) => this.detach(rest))
  }

  // node-postgres takes an Error returned here (never thrown) as the query's failure.
  submit(connection: Connection): Error | undefined {
    const stream = connection.stream
    const listeners = stream.listeners('data')
    if (listeners.length !== 1) return new Error('copyOut: the connection has no single reader')
    this.connection = connection
    this.pgData = listeners[0] as (chunk: Buffer) => void
    stream.removeListener('data', this.pgData)
    stream.on('data', this.onChunk)
    connection.query(this.text)
    return undefined
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    this.settle(this.failure)
  }

  // After an ErrorResponse the reader has already handed the connection back. Any other error
  // (query_timeout, a dead socket) may come mid-message: node-postgres cannot read on from there,
  // so the connection stays unread and the caller releases it destroyed.
  handleError(error: Error): void {
    this.connection?.stream.removeListener('data', this.onChunk)
    this.settle(error)
  }

  private receive(chunk: Buffer): void {
    if (this.failure) return
    try {
      this.reader.push(chunk)
    } catch (error) {
      // The rest of the COPY is not read: the caller closes the connection.
      this.failure = error as Error
      this.connection?.stream.removeListener('data', this.onChunk)
      this.settle(this.failure)
    }
  }

  // node-postgres reads the connection again, from `rest` on.
  private detach(rest: Buffer | undefined): void {
    const pgData = this.pgData
    if (!this.connection || !pgData) return
    this.pgData = undefined
    this.connection.stream.removeListener('data', this.onChunk)
    this.connection.stream.on('data', pgData)
    if (rest && rest.length > 0) pgData(rest)
  }

  private settle(error?: Error): void {
    if (this.settled) return
    this.settled = true
    if (error) this.reject(error)
    else this.resolve()
  }
}
