export * from './names.js'
export * from './requests.js'
export * from './run-queue.js'
export * from './scripts.js'
