import type { TSchema } from '@sinclair/typebox'
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler'
import { SessionResponse, StockResultsResponse, StoredStockResult } from './api.js'
import { ErrorCode } from './codes.js'
import { EventSchemas, type EventType, type StockPulseEvent } from './events.js'
import {
  BatchFrame,
  type ClientFrame,
  type ClientFrameType,
  ConnectedFrame,
  ErrorFrame,
  HeartbeatAckFrame,
  HeartbeatFrame,
  NoticeFrame,
  type ServerFrame,
  type ServerFrameType,
  SubscribedFrame,
  SubscribeFrame,
  UnsubscribedFrame,
  UnsubscribeFrame,
} from './protocol.js'

// ---- Compiled once ----

/** Compiled validator of each event, by `event_type`. */
export const EventValidators = compileAll(EventSchemas) as {
  readonly [T in EventType]: TypeCheck<(typeof EventSchemas)[T]>
}

const ClientFrameSchemas = {
  heartbeat: HeartbeatFrame,
  subscribe: SubscribeFrame,
  unsubscribe: UnsubscribeFrame,
} as const satisfies Record<ClientFrameType, TSchema>
/** Compiled validator of each client frame, by `type`. */
export const ClientFrameValidators = compileAll(ClientFrameSchemas) as {
  readonly [T in ClientFrameType]: TypeCheck<(typeof ClientFrameSchemas)[T]>
}

const ServerFrameSchemas = {
  connected: ConnectedFrame,
  subscribed: SubscribedFrame,
  unsubscribed: UnsubscribedFrame,
  heartbeat_ack: HeartbeatAckFrame,
  error: ErrorFrame,
  notice: NoticeFrame,
  batch: BatchFrame,
} as const satisfies Record<ServerFrameType, TSchema>
/** Compiled validator of each gateway control frame, by `type`. */
export const ServerFrameValidators = compileAll(ServerFrameSchemas) as {
  readonly [T in ServerFrameType]: TypeCheck<(typeof ServerFrameSchemas)[T]>
}

/** Compiled validators of the gateway's /api bodies and of what they are made of. */
export const ApiValidators = {
  session: TypeCompiler.Compile(SessionResponse),
  storedStockResult: TypeCompiler.Compile(StoredStockResult),
  stockResults: TypeCompiler.Compile(StockResultsResponse),
} as const

// ---- Results ----

/** Why a text was refused: `path` is a JSON pointer to the first offending field. */
export interface ParseError {
  readonly code: typeof ErrorCode.INVALID_FRAME | typeof ErrorCode.UNKNOWN_TYPE
  readonly message: string
  readonly path?: string
}

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ParseError }

/** What the gateway sends: an event, or a control frame. */
export type ServerMessage =
  | { readonly kind: 'event'; readonly event: StockPulseEvent }
  | { readonly kind: 'frame'; readonly frame: ServerFrame }

// ---- Parsers (never throw) ----

/** Parses and validates one event; unknown extra fields are kept, missing or mistyped ones refused. */
export function parseEvent(text: string): ParseResult<StockPulseEvent> {
  const json = parseJson(text)
  return json.ok ? validateEvent(json.value) : json
}

/** Validates an already-parsed value as an event. */
export function validateEvent(value: unknown): ParseResult<StockPulseEvent> {
  return check(value, 'event_type', EventValidators, 'event') as ParseResult<StockPulseEvent>
}

/** Parses a frame a client sent to the gateway. */
export function parseClientFrame(text: string): ParseResult<ClientFrame> {
  const json = parseJson(text)
  if (!json.ok) return json
  return check(json.value, 'type', ClientFrameValidators, 'frame') as ParseResult<ClientFrame>
}

/** Parses anything the gateway sends: events by `event_type`, control frames by `type`. */
export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  const json = parseJson(text)
  if (!json.ok) return json
  const value = json.value
  if (isObject(value) && 'event_type' in value) {
    const event = validateEvent(value)
    return event.ok ? { ok: true, value: { kind: 'event', event: event.value } } : event
  }
  const frame = check(value, 'type', ServerFrameValidators, 'frame')
  return frame.ok
    ? { ok: true, value: { kind: 'frame', frame: frame.value as ServerFrame } }
    : frame
}

// ---- Helpers ----

function compileAll(schemas: Record<string, TSchema>): Record<string, TypeCheck<TSchema>> {
  return Object.fromEntries(
    Object.entries(schemas).map(([key, schema]) => [key, TypeCompiler.Compile(schema)]),
  )
}

function parseJson(text: string): ParseResult<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false, error: { code: ErrorCode.INVALID_FRAME, message: 'not valid JSON' } }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function check(
  value: unknown,
  discriminator: string,
  validators: Record<string, TypeCheck<TSchema>>,
  what: string,
): ParseResult<unknown> {
  if (!isObject(value)) {
    return {
      ok: false,
      error: { code: ErrorCode.INVALID_FRAME, message: `${what} must be a JSON object` },
    }
  }
  const tag = value[discriminator]
  if (typeof tag !== 'string') {
    return {
      ok: false,
      error: { code: ErrorCode.INVALID_FRAME, message: `${what} has no string "${discriminator}"` },
    }
  }
  const validator = Object.hasOwn(validators, tag) ? validators[tag] : undefined
  if (!validator) {
    return {
      ok: false,
      error: {
        code: ErrorCode.UNKNOWN_TYPE,
        message: `unknown ${discriminator} ${JSON.stringify(tag.slice(0, 64))}`,
      },
    }
  }
  if (validator.Check(value)) return { ok: true, value }
  const first = validator.Errors(value).First()
  const path = first?.path ?? ''
  return {
    ok: false,
    error: {
      code: ErrorCode.INVALID_FRAME,
      message: `${tag} ${path || '/'}: ${first?.message ?? 'invalid'}`,
      path,
    },
  }
}
