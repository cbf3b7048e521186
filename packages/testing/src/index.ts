export * from './node-process.js'
export * from './redis-server.js'
export * from './test-database.js'
export * from './wait.js'
