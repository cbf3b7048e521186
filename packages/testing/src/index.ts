export * from './redis-server.js'
export * from './wait.js'
