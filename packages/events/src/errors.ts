/** Thrown by the channel builders when an id cannot be part of a channel name. */
export class ChannelNameError extends Error {
  override readonly name = 'ChannelNameError'
  constructor(
    readonly id: string,
    readonly reason: string,
  ) {
    super(`invalid channel id ${JSON.stringify(id)}: ${reason}`)
  }
}

/** Thrown by the event factories when the event they would build breaks the contract. */
export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError'
  constructor(
    readonly eventType: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`invalid ${eventType} event at ${path || '/'}: ${reason}`)
  }
}
