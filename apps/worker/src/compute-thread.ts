import { parentPort } from 'node:worker_threads'
import { type ComputedChunk, createEngineHost } from './compute.js'
import type { ThreadReply, ThreadRequest } from './executor.js'

// Entry of a compute thread (see createThreadPool): one engine host, answering requests.
const host = createEngineHost()
const port = parentPort!

port.on('message', async (request: ThreadRequest) => {
  // Messages come in order, so every request sent before this one has been answered or is
  // awaiting its input; closing the port lets the thread exit once that settles.
  if (request.op === 'close') {
    port.close()
    return
  }
  try {
    if (request.op === 'prepare') {
      const result = await host.prepare(request.id, request.setup, request.chunk)
      reply({ req: request.req, ok: true, result })
    } else if (request.op === 'compute') {
      const result = host.compute(request.id, request.need)
      reply({ req: request.req, ok: true, result }, buffersOf(result))
    } else if (request.op === 'run') {
      const result = await host.run(request.id, request.setup, request.chunk)
      reply({ req: request.req, ok: true, result }, buffersOf(result.computed))
    } else {
      host.release(request.id)
      reply({ req: request.req, ok: true, result: undefined })
    }
  } catch (error) {
    reply({ req: request.req, ok: false, error: (error as Error).message })
  }
})

// A computed chunk's arrays are transferred, not copied.
function buffersOf(computed: ComputedChunk): ArrayBuffer[] {
  return [computed.values.buffer as ArrayBuffer, computed.computeMs.buffer as ArrayBuffer]
}

function reply(message: ThreadReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer)
}
