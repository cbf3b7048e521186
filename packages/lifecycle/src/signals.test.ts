import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startNode } from '@stockpulse/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const dist = new URL('../dist/index.js', import.meta.url).href

// Traps signals, reports the first one on stdout and keeps running unless started with --exit.
const program = `
import { trapSignals } from ${JSON.stringify(dist)}
const trap = trapSignals('probe')
const keepAlive = setInterval(() => {}, 1000)
if (process.argv.includes('--log-force')) trap.onForce((s) => process.stderr.write('forced by ' + s + '\\n'))
trap.signal.addEventListener('abort', () => {
  process.stdout.write('stopping on ' + trap.signal.reason + ' (' + trap.received + ')\\n')
  if (process.argv.includes('--exit')) clearInterval(keepAlive)
})
process.stdout.write('trapped\\n')
`

describe('signals', () => {
  let dir: string
  let script: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stockpulse-lifecycle-'))
    script = join(dir, 'probe.mjs')
    await writeFile(script, program)
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('turns the first signal into an abort the program answers in its own time', async () => {
    const probe = startNode(script, ['--exit'])
    await probe.waitFor('trapped', 'the program to trap signals')
    probe.kill('SIGTERM')
    await probe.expectExit(0)
    expect(probe.stdout).toBe('trapped\nstopping on SIGTERM (SIGTERM)\n')
  })

  it.each([
    ['SIGINT', 'SIGTERM'],
    ['SIGTERM', 'SIGINT'],
  ] as const)('dies at once of a second signal (%s, then %s)', async (first, second) => {
    const probe = startNode(script)
    await probe.waitFor('trapped', 'the program to trap signals')
    probe.kill(first)
    await probe.waitFor('stopping on', `the program to see ${first}`)
    probe.kill(second)
    await probe.expectExit(second)
    expect(probe.stderr).toBe(`probe: ${second} while stopping: exiting now\n`)
  })

  it('lets the program log a forced exit its own way', async () => {
    const probe = startNode(script, ['--log-force'])
    await probe.waitFor('trapped', 'the program to trap signals')
    probe.kill('SIGINT')
    await probe.waitFor('stopping on', 'the program to see SIGINT')
    probe.kill('SIGINT')
    await probe.expectExit('SIGINT')
    expect(probe.stderr).toBe('forced by SIGINT\n')
  })
})
