import { createServer } from 'node:http'
import { createAdapter } from '@socket.io/redis-adapter'
import { createClient } from 'redis'
import { Server } from 'socket.io'

// The comparison: Socket.IO 4.8 with the Redis adapter doing the gateway's job. It subscribes the
// same Redis channels and emits each message, as the string it is, to the room of its channel.
// Clients join rooms from `?channels=`. It validates nothing (the gateway validates every event).

const [portArg, redisUrl] = process.argv.slice(2)
const pub = createClient({ url: redisUrl })
const sub = pub.duplicate()
const events = pub.duplicate()
await Promise.all([pub.connect(), sub.connect(), events.connect()])

const http = createServer()
const io = new Server(http, {
  adapter: createAdapter(pub, sub),
  transports: ['websocket'],
  perMessageDeflate: false,
  serveClient: false,
})
io.on('connection', (socket) => {
  const channels = String(socket.handshake.query.channels ?? '').split(',')
  void socket.join(channels.filter((channel) => channel !== ''))
})
await events.subscribe(['events:tasks', 'events:indicators'], (message, channel) => {
  io.to(channel).emit('event', message)
})
http.listen(Number(portArg), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
