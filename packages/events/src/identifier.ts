// Identifiers without TypeBox: compute threads and other light modules import this file alone
// (`@stockpulse/events/identifier`).

/** What an identifier may be, for messages. */
export const IDENTIFIER_TEXT = '1-64 characters of A-Z a-z 0-9 _ . -'

/** A whole identifier usable inside a channel name: a task id, stock code or user id. */
export const IDENTIFIER = /^[A-Za-z0-9_.-]{1,64}$/

/** Whether `value` is an identifier. */
export function isIdentifier(value: unknown): value is string {
  return typeof value === 'string' && IDENTIFIER.test(value)
}
