import {
  type CancelTaskCommand,
  type EventBus,
  parseWorkerCommand,
  type StartTaskCommand,
  WORKER_COMMANDS,
} from '@stockpulse/events'
import type { Logger } from 'pino'

export interface CommandListenerOptions {
  /** Where commands arrive: a Redis-backed bus or the in-process one. */
  readonly bus: Pick<EventBus, 'subscribe' | 'unsubscribe'>
  readonly logger: Logger
  /** Returns why the command was refused (e.g. busy), or undefined when accepted. */
  readonly onStart: (command: StartTaskCommand) => string | undefined
  readonly onCancel: (command: CancelTaskCommand) => string | undefined
}

export interface CommandStats {
  readonly received: number
  /** Not JSON, or not a valid WorkerCommand. */
  readonly invalid: number
  /** Valid but refused (busy, unknown task, bad parameters). */
  readonly refused: number
}

/** Listens on WORKER_COMMANDS. Bad or refused commands are logged and counted, never thrown. */
export interface CommandListener {
  stats(): CommandStats
  stop(): void
}

export function listenForCommands(options: CommandListenerOptions): CommandListener {
  const { bus, logger, onStart, onCancel } = options
  let received = 0
  let invalid = 0
  let refused = 0
  const listener = (message: string) => {
    received++
    const parsed = parseWorkerCommand(message)
    if (!parsed.ok) {
      invalid++
      logger.warn({ error: parsed.error, length: message.length }, 'invalid command ignored')
      return
    }
    const command = parsed.value
    let reason: string | undefined
    try {
      reason = command.command === 'start' ? onStart(command) : onCancel(command)
    } catch (error) {
      reason = (error as Error).message
    }
    if (reason === undefined) {
      logger.info({ command }, 'command accepted')
      return
    }
    refused++
    logger.warn({ command, reason }, 'command refused')
  }
  bus.subscribe(WORKER_COMMANDS, listener)
  return {
    stats: () => ({ received, invalid, refused }),
    stop: () => bus.unsubscribe(WORKER_COMMANDS, listener),
  }
}
