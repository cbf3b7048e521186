/**
 * A 64-bit fingerprint (16 hex digits) of the bytes of a Float64Array: two murmur3-style lanes
 * with different seeds over its 32-bit words. Fast enough to run on every stock of every job.
 */
export function fingerprint(values: Float64Array): string {
  const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2)
  const length = words.length
  let h1 = 0x9747b28c ^ length
  let h2 = 0x1b873593 ^ length
  for (let i = 0; i < length; i++) {
    const word = words[i]!
    let k1 = Math.imul(word, 0xcc9e2d51)
    k1 = Math.imul((k1 << 15) | (k1 >>> 17), 0x1b873593)
    h1 ^= k1
    h1 = (Math.imul((h1 << 13) | (h1 >>> 19), 5) + 0xe6546b64) | 0
    let k2 = Math.imul(word, 0x85ebca6b)
    k2 = Math.imul((k2 << 16) | (k2 >>> 16), 0xc2b2ae35)
    h2 ^= k2
    h2 = (Math.imul((h2 << 17) | (h2 >>> 15), 9) + 0x561ccd1b) | 0
  }
  return hex(finalize(h1)) + hex(finalize(h2 ^ h1))
}

function finalize(h: number): number {
  let x = h ^ (h >>> 16)
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}

function hex(x: number): string {
  return x.toString(16).padStart(8, '0')
}
