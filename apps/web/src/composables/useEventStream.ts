import {
  bearerProtocols,
  type Channel,
  type ClientFrame,
  type ConnectedFrame,
  type EventOf,
  type EventType,
  NoticeCode,
  type NoticeFrame,
  parseServerMessage,
  type ServerFrame,
  SINCE_START,
  type StockPulseEvent,
  shouldReconnect,
} from '@stockpulse/events'
import {
  getCurrentScope,
  onScopeDispose,
  type Ref,
  readonly,
  ref,
  type ShallowRef,
  shallowRef,
} from 'vue'
import { resolveConfig } from '../config'
import { createPositionTracker } from '../lib/positions'

export type ConnectionState = 'connecting' | 'open' | 'closed' | 'reconnecting'

/** An `error` frame, or a channel the gateway refused in a `subscribed` frame. */
export interface StreamError {
  readonly code: string
  readonly message: string
  readonly channel?: string
}

/** How a channel came back after a reconnect: its missed events replayed, or a snapshot instead. */
export interface ChannelRecovery {
  readonly channel: string
  readonly recovered: boolean
}

export interface UseEventStreamOptions {
  /** ws:// or wss:// URL of the gateway's event endpoint; the page's own `/ws/events` by default. */
  url?: string
  /** Channels joined on every connect (in `?channels=`, or by frame on a resume); more with `subscribe()`. */
  channels?: readonly Channel[]
  /** Send `{type:"heartbeat"}` this often; lowered to a third of the gateway's timeout if needed. */
  heartbeatIntervalMs?: number
  /** First reconnect waits up to this long; each further attempt doubles it, up to `reconnectMaxMs`. */
  reconnectBaseMs?: number
  reconnectMaxMs?: number
  /** Ask for events wrapped in `batch` frames (`?batch=1`). */
  batch?: boolean
  /** Connect at once; otherwise call `open()`. */
  immediate?: boolean
  /** Source of the reconnect jitter, in [0, 1). */
  random?: () => number
  /**
   * The gateway token, read at every connect: sent as the `bearer.<jwt>` WebSocket subprotocol,
   * never in the URL (which proxies log). None: the gateway runs without auth.
   */
  token?: () => string | undefined
}

export interface UseEventStreamReturn {
  readonly state: Readonly<Ref<ConnectionState>>
  /** Reconnect attempts since the gateway last said `connected`. */
  readonly attempt: Readonly<Ref<number>>
  /** Code of the most recent close, kept after a reconnect. */
  readonly lastCloseCode: Readonly<Ref<number | undefined>>
  /** The gateway's `connected` frame of the current connection. */
  readonly connection: Readonly<ShallowRef<ConnectedFrame | undefined>>
  /** False between the gateway's `bridge_down` and `bridge_up` notices: live events are paused. */
  readonly bridgeUp: Readonly<Ref<boolean>>
  readonly lastError: Readonly<ShallowRef<StreamError | undefined>>
  /** Frames dropped because they broke the contract. */
  readonly dropped: Readonly<Ref<number>>
  /** Events dropped because they were already delivered (a replay overlap, or another channel's copy). */
  readonly repeats: Readonly<Ref<number>>
  /** Per channel, whether the last resume replayed what was missed (`recovered: false`: a snapshot came instead). */
  readonly recovery: Readonly<ShallowRef<readonly ChannelRecovery[]>>
  /**
   * Channels joined with `{ fromStart: true }` whose ack came: true when the gateway replayed their
   * whole history, false when it could not (expired, trimmed, or no history kept).
   */
  readonly wholeHistory: Readonly<ShallowRef<ReadonlyMap<string, boolean>>>
  /** Calls `handler` with every valid event of this type; returns (and on scope dispose runs) the off switch. */
  on<T extends EventType>(type: T, handler: (event: EventOf<T>) => void): () => void
  /** Calls `handler` with every `notice` frame other than the bridge's; returns the off switch. */
  onNotice(handler: (notice: NoticeFrame) => void): () => void
  /**
   * Joins channels until the returned release (also run on scope dispose) is called; with
   * `fromStart`, a channel joined afresh gets its whole history first (`since: "start"`).
   */
  subscribe(channels: readonly Channel[], options?: SubscribeOptions): () => void
  open(): void
  close(): void
}

export interface SubscribeOptions {
  /** Replay the channels from their first event (the gateway's `since: "start"`). */
  fromStart?: boolean
}

/** Full-jitter exponential backoff: a uniform delay in [0, min(max, base * 2^attempt)). */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number,
): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt))
}

/**
 * A typed, validated, self-healing connection to the gateway: every frame is checked against the
 * contract, batches are unwrapped, channels survive reconnects and resume from the last position
 * seen (no event lost, none delivered twice), and closes the gateway marks as final
 * (`shouldReconnect`) stop it.
 */
export function useEventStream(options: UseEventStreamOptions = {}): UseEventStreamReturn {
  const {
    url = resolveConfig(undefined, window.location).eventsUrl,
    channels: initialChannels = [],
    heartbeatIntervalMs = 20_000,
    reconnectBaseMs = 500,
    reconnectMaxMs = 30_000,
    batch = true,
    immediate = true,
    random = Math.random,
    token = () => undefined,
  } = options

  const state = ref<ConnectionState>('closed')
  const attempt = ref(0)
  const lastCloseCode = ref<number>()
  const connection = shallowRef<ConnectedFrame>()
  const bridgeUp = ref(true)
  const lastError = shallowRef<StreamError>()
  const dropped = ref(0)
  const repeats = ref(0)
  const recovery = shallowRef<readonly ChannelRecovery[]>([])
  const wholeHistory = shallowRef<ReadonlyMap<string, boolean>>(new Map())

  const handlers = new Map<EventType, Set<(event: StockPulseEvent) => void>>()
  const noticeHandlers = new Set<(notice: NoticeFrame) => void>()
  const positions = createPositionTracker()
  const wanted = new Map<Channel, number>()
  for (const channel of initialChannels) wanted.set(channel, (wanted.get(channel) ?? 0) + 1)
  /** Wanted channels to join with `since: "start"` while they have no position. */
  const fromStart = new Set<string>()
  /** Channels of subscribe frames sent with `since: "start"`, until their ack. */
  const startPending = new Set<string>()
  /** Channels the current socket has joined, or asked for in its URL. */
  let joined = new Set<Channel>()
  let socket: WebSocket | undefined
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined
  let heartbeatTimer: ReturnType<typeof setInterval> | undefined
  /** Once a socket has opened, later ones join by one `subscribe` frame carrying `since`. */
  let resuming = false

  function connect() {
    reconnectTimer = undefined
    // Channels wanting their whole history join by frame, the only place for `since`.
    joined = resuming ? new Set() : new Set([...wanted.keys()].filter((c) => !fromStart.has(c)))
    startPending.clear()
    const target = new URL(url)
    // Present but empty means no channels: without it the gateway would join its defaults.
    target.searchParams.set('channels', [...joined].join(','))
    if (batch) target.searchParams.set('batch', '1')
    state.value = attempt.value === 0 ? 'connecting' : 'reconnecting'
    const jwt = token()
    const ws = jwt ? new WebSocket(target.href, bearerProtocols(jwt)) : new WebSocket(target.href)
    socket = ws
    ws.onopen = () => {
      state.value = 'open'
      if (resuming && !positions.since([...wanted.keys()])) positions.restart()
      resuming = true
      syncChannels()
      startHeartbeat(heartbeatIntervalMs)
    }
    ws.onmessage = (message) => receive(message.data)
    ws.onclose = (event) => {
      if (socket !== ws) return
      socket = undefined
      connection.value = undefined
      stopHeartbeat()
      lastCloseCode.value = event.code
      if (!shouldReconnect(event.code)) {
        state.value = 'closed'
        return
      }
      state.value = 'reconnecting'
      const delay = backoffDelay(attempt.value, reconnectBaseMs, reconnectMaxMs, random)
      attempt.value += 1
      reconnectTimer = setTimeout(connect, delay)
    }
  }

  function receive(data: unknown) {
    const parsed = typeof data === 'string' ? parseServerMessage(data) : undefined
    if (!parsed?.ok) {
      dropped.value += 1
      console.warn('[event-stream] dropped a frame:', parsed?.error.message ?? 'not text')
      return
    }
    if (parsed.value.kind === 'event') dispatch(parsed.value.event)
    else control(parsed.value.frame)
  }

  function control(frame: ServerFrame) {
    switch (frame.type) {
      case 'batch':
        for (const event of frame.events) dispatch(event)
        break
      case 'connected':
        connection.value = frame
        attempt.value = 0
        if (frame.heartbeat_timeout_s * 1000 < heartbeatIntervalMs * 3)
          startHeartbeat((frame.heartbeat_timeout_s * 1000) / 3)
        break
      case 'notice':
        if (frame.code === NoticeCode.BRIDGE_UP || frame.code === NoticeCode.BRIDGE_DOWN)
          bridgeUp.value = frame.code === NoticeCode.BRIDGE_UP
        else for (const handler of noticeHandlers) handler(frame)
        break
      case 'error':
        report(frame)
        break
      case 'subscribed': {
        const started = new Map<string, boolean>()
        for (const result of frame.results) {
          if (result.ok) positions.acknowledge(result)
          else report(result)
          if (startPending.delete(result.channel) && fromStart.has(result.channel))
            started.set(result.channel, result.ok && result.recovered === true)
        }
        if (started.size > 0) wholeHistory.value = new Map([...wholeHistory.value, ...started])
        const resumed = frame.results.flatMap((result) =>
          result.ok && result.recovered !== undefined && !started.has(result.channel)
            ? [{ channel: result.channel, recovered: result.recovered }]
            : [],
        )
        if (resumed.length > 0) recovery.value = resumed
        break
      }
      case 'unsubscribed':
      case 'heartbeat_ack':
        break
    }
  }

  function dispatch(event: StockPulseEvent) {
    if (!positions.admit(event, joined, startPending)) {
      repeats.value += 1
      return
    }
    const listeners = handlers.get(event.event_type)
    if (listeners) for (const listener of listeners) listener(event)
  }

  function report(error: StreamError) {
    lastError.value = { code: error.code, message: error.message, channel: error.channel }
    console.warn(`[event-stream] ${error.code}: ${error.message}`)
  }

  /** Brings the socket's channels in line with `wanted`. */
  function syncChannels() {
    if (socket?.readyState !== WebSocket.OPEN) return
    const join = [...wanted.keys()].filter((channel) => !joined.has(channel))
    const leave = [...joined].filter((channel) => !wanted.has(channel))
    const since: Record<string, string> = { ...positions.since(join) }
    for (const channel of join) {
      if (!fromStart.has(channel) || Object.hasOwn(since, channel)) continue
      since[channel] = SINCE_START
      startPending.add(channel)
    }
    const resume = Object.keys(since).length > 0 ? { since } : {}
    if (join.length > 0) send({ type: 'subscribe', channels: join, ...resume })
    if (leave.length > 0) send({ type: 'unsubscribe', channels: leave })
    joined = new Set(wanted.keys())
  }

  function send(frame: ClientFrame) {
    socket?.send(JSON.stringify(frame))
  }

  function startHeartbeat(intervalMs: number) {
    stopHeartbeat()
    heartbeatTimer = setInterval(() => send({ type: 'heartbeat' }), intervalMs)
  }

  function stopHeartbeat() {
    clearInterval(heartbeatTimer)
    heartbeatTimer = undefined
  }

  function open() {
    if (socket || reconnectTimer !== undefined) return
    attempt.value = 0
    connect()
  }

  function close() {
    clearTimeout(reconnectTimer)
    reconnectTimer = undefined
    stopHeartbeat()
    const ws = socket
    socket = undefined
    connection.value = undefined
    ws?.close(1000)
    state.value = 'closed'
  }

  function on<T extends EventType>(type: T, handler: (event: EventOf<T>) => void) {
    const listeners = handlers.get(type) ?? new Set()
    const listener = handler as (event: StockPulseEvent) => void
    listeners.add(listener)
    handlers.set(type, listeners)
    return disposable(() => listeners.delete(listener))
  }

  function onNotice(handler: (notice: NoticeFrame) => void) {
    noticeHandlers.add(handler)
    return disposable(() => noticeHandlers.delete(handler))
  }

  function subscribe(channels: readonly Channel[], options: SubscribeOptions = {}) {
    const unique = [...new Set(channels)]
    for (const channel of unique) {
      if (options.fromStart && !wanted.has(channel)) fromStart.add(channel)
      wanted.set(channel, (wanted.get(channel) ?? 0) + 1)
    }
    syncChannels()
    let released = false
    return disposable(() => {
      if (released) return
      released = true
      for (const channel of unique) {
        const count = (wanted.get(channel) ?? 1) - 1
        if (count > 0) wanted.set(channel, count)
        else {
          wanted.delete(channel)
          positions.forget(channel)
          fromStart.delete(channel)
          if (wholeHistory.value.has(channel)) {
            const whole = new Map(wholeHistory.value)
            whole.delete(channel)
            wholeHistory.value = whole
          }
        }
      }
      syncChannels()
    })
  }

  disposable(close)
  if (immediate) open()

  return {
    state: readonly(state),
    attempt: readonly(attempt),
    lastCloseCode: readonly(lastCloseCode),
    connection,
    bridgeUp: readonly(bridgeUp),
    lastError,
    dropped: readonly(dropped),
    repeats: readonly(repeats),
    recovery,
    wholeHistory,
    on,
    onNotice,
    subscribe,
    open,
    close,
  }
}

/** Runs `stop` when the current effect scope ends, if there is one; returns it for manual use. */
function disposable(stop: () => void): () => void {
  if (getCurrentScope()) onScopeDispose(stop)
  return stop
}
