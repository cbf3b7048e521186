/** A bench writes under its own prefix on a shared Redis: this leaves nothing of it behind. */
export async function dropBenchKeys(redis, prefix) {
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 10_000 })) {
    if (keys.length > 0) await redis.unlink(keys)
  }
}
