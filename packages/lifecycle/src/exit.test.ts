import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startNode } from '@stockpulse/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const dist = new URL('../dist/index.js', import.meta.url).href

// Stops "in order" with exit code 3; with --leak, a listening server is left open, as a library's
// socket that reconnected while it was being closed would be.
const program = `
import { createServer } from 'node:net'
import { exitWhenStopped } from ${JSON.stringify(dist)}
if (process.argv.includes('--leak')) createServer().listen(0, '127.0.0.1')
process.stdout.write('stopped\\n')
exitWhenStopped('probe', 3, 300)
`

describe('exitWhenStopped', () => {
  let dir: string
  let script: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stockpulse-exit-'))
    script = join(dir, 'probe.mjs')
    await writeFile(script, program)
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('lets a program that holds nothing exit by itself, with its code and nothing said', async () => {
    const probe = startNode(script)
    await probe.expectExit(3)
    expect(probe.stderr).toBe('')
  })

  it('ends a program a leftover handle holds open, naming the handle', async () => {
    const probe = startNode(script, ['--leak'])
    await probe.expectExit(3)
    expect(probe.stdout).toBe('stopped\n')
    expect(probe.stderr).toBe(
      'probe: stopped, but still held open after 300 ms by TCPServerWrap: exiting with code 3\n',
    )
  })
})
