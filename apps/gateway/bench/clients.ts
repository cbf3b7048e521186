import { WebSocket } from 'ws'

// A child process holding N raw `ws` clients that only count messages and sample latencies, so
// that the client side costs the same against both servers. Socket.IO clients speak Engine.IO v4
// over a plain WebSocket: `40` to join the namespace, `3` to answer pings, events as `42[...]`.

export type ClientCommand =
  | { readonly type: 'expect'; readonly count: number }
  | { readonly type: 'sample'; readonly on: boolean }
  | { readonly type: 'report' }

export type ClientReport =
  | { readonly type: 'connected'; readonly clients: number }
  /** Counting from zero for `expect`: publish only after this, or events could count before it. */
  | { readonly type: 'expecting' }
  | { readonly type: 'done'; readonly at: number; readonly delivered: number }
  | { readonly type: 'latencies'; readonly samples: number[]; readonly delivered: number }

/** Latencies are sampled on at most this many clients, evenly spread. */
const SAMPLED_CLIENTS = 50
const SENT_AT = /bench_sent_at\\?":([\d.]+)/

const [kind, url, countArg] = process.argv.slice(2)
const count = Number(countArg)
const socketIo = kind === 'socketio'
const every = Math.max(1, Math.floor(count / SAMPLED_CLIENTS))
const counts = new Uint32Array(count)
const samples: number[] = []
let expected = Number.POSITIVE_INFINITY
let finished = 0
let delivered = 0
let sampling = false
let connected = 0

const now = () => performance.timeOrigin + performance.now()
const report = (message: ClientReport) => process.send?.(message)

process.on('message', (command: ClientCommand) => {
  if (command.type === 'expect') {
    counts.fill(0)
    delivered = 0
    finished = 0
    expected = command.count
    report({ type: 'expecting' })
  } else if (command.type === 'sample') {
    sampling = command.on
  } else {
    report({ type: 'latencies', samples: samples.splice(0), delivered })
  }
})

for (let i = 0; i < count; i++) open(i)

function open(index: number): void {
  const ws = new WebSocket(url ?? '', { perMessageDeflate: false, skipUTF8Validation: true })
  ws.on('error', (error) => {
    process.stderr.write(`client ${index}: ${error.message}\n`)
    process.exit(1)
  })
  if (!socketIo) ws.once('open', onConnected)
  ws.on('message', (data: Buffer) => {
    if (socketIo && data[0] !== 0x34 /* '4' */) {
      if (data[0] === 0x32 /* '2' ping */) ws.send('3')
      else if (data[0] === 0x30 /* '0' open */) ws.send('40')
      return
    }
    if (socketIo && data[1] === 0x30 /* '40' connected */) return onConnected()
    if (data[0] === 0x7b && data[2] === 0x74 /* {"type": control frame */) return
    delivered++
    if (sampling && index % every === 0) {
      const sentAt = SENT_AT.exec(data.toString('latin1'))?.[1]
      if (sentAt) samples.push(now() - Number(sentAt))
    }
    if (++counts[index]! === expected && ++finished === count) {
      report({ type: 'done', at: now(), delivered })
    }
  })
}

function onConnected(): void {
  if (++connected === count) report({ type: 'connected', clients: count })
}
