import { InvalidEventError } from './errors.js'
import { EVENT_VERSION, type EventOf, type EventType } from './events.js'
import { EventValidators } from './validators.js'

/** The fields a producer fills in; the factory stamps `event_type`, `timestamp` and `version`. */
export type EventFields<T extends EventType> = Omit<
  EventOf<T>,
  'event_type' | 'timestamp' | 'version'
>

/** Builds a valid event of type T stamped with `now`; throws InvalidEventError on a contract breach. */
export function createEvent<T extends EventType>(
  eventType: T,
  fields: EventFields<T>,
  now: Date = new Date(),
): EventOf<T> {
  const event = {
    event_type: eventType,
    timestamp: now.toISOString(),
    version: EVENT_VERSION,
    ...fields,
  } as EventOf<T>
  const validator = EventValidators[eventType]
  if (!validator.Check(event)) {
    const first = validator.Errors(event).First()
    throw new InvalidEventError(eventType, first?.path ?? '', first?.message ?? 'invalid')
  }
  return event
}

export const createTaskProgressEvent = (fields: EventFields<'task.progress'>, now?: Date) =>
  createEvent('task.progress', fields, now)
export const createStockIndicatorsCompletedEvent = (
  fields: EventFields<'stock.indicators.completed'>,
  now?: Date,
) => createEvent('stock.indicators.completed', fields, now)
export const createTaskCompletedEvent = (fields: EventFields<'task.completed'>, now?: Date) =>
  createEvent('task.completed', fields, now)
export const createMarketSnapshotEvent = (fields: EventFields<'market.snapshot'>, now?: Date) =>
  createEvent('market.snapshot', fields, now)
export const createSystemHeartbeatEvent = (fields: EventFields<'system.heartbeat'>, now?: Date) =>
  createEvent('system.heartbeat', fields, now)
export const createUserNotificationEvent = (fields: EventFields<'user.notification'>, now?: Date) =>
  createEvent('user.notification', fields, now)
