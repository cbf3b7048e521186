/** The error `fn` throws; fails the test when it throws none. */
export function captureError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected an error, none was thrown')
}
