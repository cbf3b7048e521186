export * from './exit.js'
export * from './redis-connection.js'
export * from './signals.js'
