import { type Static, Type } from '@sinclair/typebox'
import { ErrorCode, NoticeCode } from './codes.js'
import { Identifier, POSITION_PATTERN, StockPulseEvent, Timestamp } from './events.js'

// Control frames carry `type`; events carry `event_type`. A client that only looks at
// `JSON.parse(data).event_type` (the seed's examples) keeps working and ignores control frames.

/** The WebSocket subprotocol the gateway speaks; echoed back when a client offers it. */
export const EVENTS_PROTOCOL = 'stockpulse'

/** Subprotocol prefix carrying a token from browsers, which cannot set `Authorization`. */
export const BEARER_PROTOCOL_PREFIX = 'bearer.'

/**
 * The `protocols` of `new WebSocket(url, protocols)` for a token: the gateway reads the token
 * from `bearer.<jwt>` (JWT characters are valid RFC 6455 protocol tokens) and answers with
 * `stockpulse` only, so the token never comes back in the response.
 */
export function bearerProtocols(token: string): string[] {
  return [EVENTS_PROTOCOL, `${BEARER_PROTOCOL_PREFIX}${token}`]
}

/**
 * A `since` value asking for a channel's whole history: every event still in its stream, from the
 * first, when none was ever trimmed (`recovered: true`), else the snapshot (`recovered: false`).
 */
export const SINCE_START = 'start'

/** Most channels one subscribe or unsubscribe frame may name. */
export const MAX_CHANNELS_PER_FRAME = 100

const ChannelName = Type.String({ minLength: 1, maxLength: 200 })
const ChannelList = Type.Array(ChannelName, { minItems: 1, maxItems: MAX_CHANNELS_PER_FRAME })
const RequestId = Type.Optional(
  Type.Union([Type.String({ maxLength: 64 }), Type.Integer()], {
    description: 'Echoed in the ack so a client can match it to its request',
  }),
)

// ---- Client -> gateway ----

export const HeartbeatFrame = Type.Object(
  { type: Type.Literal('heartbeat') },
  { $id: 'HeartbeatFrame' },
)
export type HeartbeatFrame = Static<typeof HeartbeatFrame>

export const SubscribeFrame = Type.Object(
  {
    type: Type.Literal('subscribe'),
    channels: ChannelList,
    id: RequestId,
    since: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 128 }), {
        description:
          'channel -> last position seen, to resume after a reconnect; "start" replays the channel from its first event',
      }),
    ),
  },
  { $id: 'SubscribeFrame' },
)
export type SubscribeFrame = Static<typeof SubscribeFrame>

export const UnsubscribeFrame = Type.Object(
  { type: Type.Literal('unsubscribe'), channels: ChannelList, id: RequestId },
  { $id: 'UnsubscribeFrame' },
)
export type UnsubscribeFrame = Static<typeof UnsubscribeFrame>

export const ClientFrame = Type.Union([HeartbeatFrame, SubscribeFrame, UnsubscribeFrame], {
  $id: 'ClientFrame',
})
export type ClientFrame = Static<typeof ClientFrame>
export type ClientFrameType = ClientFrame['type']

// ---- Gateway -> client ----

const ErrorCodeSchema = Type.Union(Object.values(ErrorCode).map((c) => Type.Literal(c)))

export const ChannelResult = Type.Union(
  [
    Type.Object({
      channel: Type.String(),
      ok: Type.Literal(true),
      recovered: Type.Optional(
        Type.Boolean({
          description:
            'Only when `since` named this channel: true when every missed event was replayed, false when a snapshot was sent instead',
        }),
      ),
      position: Type.Optional(
        Type.String({
          pattern: POSITION_PATTERN,
          description:
            'The channel position at subscribe time: resume from it if no event arrives first',
        }),
      ),
    }),
    Type.Object({
      channel: Type.String(),
      ok: Type.Literal(false),
      code: ErrorCodeSchema,
      message: Type.String(),
    }),
  ],
  { $id: 'ChannelResult' },
)
export type ChannelResult = Static<typeof ChannelResult>

export const ConnectedFrame = Type.Object(
  {
    type: Type.Literal('connected'),
    connection_id: Type.String(),
    user_id: Type.Optional(Type.String()),
    heartbeat_timeout_s: Type.Number({ description: 'Send a frame at least this often' }),
    batch: Type.Boolean({ description: 'Whether events arrive wrapped in batch frames' }),
  },
  { $id: 'ConnectedFrame' },
)
export type ConnectedFrame = Static<typeof ConnectedFrame>

export const SubscribedFrame = Type.Object(
  { type: Type.Literal('subscribed'), id: RequestId, results: Type.Array(ChannelResult) },
  { $id: 'SubscribedFrame' },
)
export type SubscribedFrame = Static<typeof SubscribedFrame>

export const UnsubscribedFrame = Type.Object(
  { type: Type.Literal('unsubscribed'), id: RequestId, results: Type.Array(ChannelResult) },
  { $id: 'UnsubscribedFrame' },
)
export type UnsubscribedFrame = Static<typeof UnsubscribedFrame>

export const HeartbeatAckFrame = Type.Object(
  { type: Type.Literal('heartbeat_ack'), timestamp: Timestamp },
  { $id: 'HeartbeatAckFrame' },
)
export type HeartbeatAckFrame = Static<typeof HeartbeatAckFrame>

export const ErrorFrame = Type.Object(
  {
    type: Type.Literal('error'),
    code: ErrorCodeSchema,
    message: Type.String(),
    channel: Type.Optional(Type.String()),
  },
  { $id: 'ErrorFrame' },
)
export type ErrorFrame = Static<typeof ErrorFrame>

export const NoticeFrame = Type.Object(
  {
    type: Type.Literal('notice'),
    code: Type.Union(Object.values(NoticeCode).map((c) => Type.Literal(c))),
    message: Type.String(),
    task_id: Type.Optional(Identifier),
  },
  { $id: 'NoticeFrame', description: 'Something about the gateway itself, sent to every client' },
)
export type NoticeFrame = Static<typeof NoticeFrame>

export const BatchFrame = Type.Object(
  { type: Type.Literal('batch'), events: Type.Array(StockPulseEvent) },
  {
    $id: 'BatchFrame',
    description: 'Several events in one frame, for clients that opt in with ?batch=1',
  },
)
export type BatchFrame = Static<typeof BatchFrame>

export const ServerFrame = Type.Union(
  [
    ConnectedFrame,
    SubscribedFrame,
    UnsubscribedFrame,
    HeartbeatAckFrame,
    ErrorFrame,
    NoticeFrame,
    BatchFrame,
  ],
  { $id: 'ServerFrame' },
)
export type ServerFrame = Static<typeof ServerFrame>
export type ServerFrameType = ServerFrame['type']
