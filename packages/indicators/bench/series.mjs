// Deterministic random walks shared by the benchmark and the TA-Lib check.

/** Park-Miller style LCG in [0, 1): reproducible across runs and machines. */
export function random(seed) {
  let state = seed >>> 0 || 1
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 4294967296
  }
}

/**
 * One stock of `length` bars starting near `start`: a multiplicative random walk with 2% steps,
 * `flat` the chance per bar of entering a flat stretch of one price (high = low = close): 20 to 80
 * bars, or one time in ten 300 to 700 bars (long enough for Wilder averages to decay below 1e-14).
 */
export function walk(length, start, seed, flat = 0) {
  const rnd = random(seed)
  const high = new Float64Array(length)
  const low = new Float64Array(length)
  const close = new Float64Array(length)
  let price = start
  let flatLeft = 0
  for (let i = 0; i < length; i++) {
    if (flatLeft > 0) {
      flatLeft--
      high[i] = low[i] = close[i] = price
      continue
    }
    if (rnd() < flat)
      flatLeft = rnd() < 0.1 ? 300 + Math.floor(rnd() * 400) : 20 + Math.floor(rnd() * 60)
    const open = price
    price *= 1 + (rnd() - 0.5) * 0.04
    high[i] = Math.max(open, price) * (1 + rnd() * 0.01)
    low[i] = Math.min(open, price) * (1 - rnd() * 0.01)
    close[i] = price
  }
  return { high, low, close }
}
