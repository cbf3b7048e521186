import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode } from './node-process.js'

describe('node-process', () => {
  let dir: string
  let script: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stockpulse-testing-'))
    script = join(dir, 'probe.mjs')
    await writeFile(
      script,
      // 'ready' comes last: by then the process is set up (its SIGTERM handler too).
      `const [mode] = process.argv.slice(2)
if (mode === 'wait') setTimeout(() => {}, 60_000)
if (mode === 'stubborn') { process.on('SIGTERM', () => {}); setTimeout(() => {}, 60_000) }
process.stdout.write('ready\\n')
if (mode === 'crash') { process.stderr.write('boom: the cause\\n'); process.exit(3) }
`,
    )
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('collects the output and resolves on the expected exit', async () => {
    const probe = startNode(script)
    await probe.waitFor('ready', 'the ready line')
    await probe.expectExit(0)
    expect({ stdout: probe.stdout, stderr: probe.stderr }).toEqual({
      stdout: 'ready\n',
      stderr: '',
    })
  })

  it('shows stderr when the exit is wrong, or the process exits before the wait ends', async () => {
    await expect(startNode(script, ['crash']).expectExit(0)).rejects.toThrow(
      'exited (code 3), expected code 0; stderr:\nboom: the cause\n',
    )
    await expect(
      startNode(script, ['crash']).waitFor('never printed', 'the line never printed'),
    ).rejects.toThrow('exited (code 3) before the line never printed; stderr:\nboom: the cause')
  })

  it('names a process that does not exit in time, and one killed by a signal', async () => {
    const probe = startNode(script, ['wait'])
    await probe.waitFor('ready', 'the ready line')
    await expect(probe.expectExit(0, 50)).rejects.toThrow(
      'did not exit within 50 ms; stderr:\n(stderr is empty)',
    )
    probe.kill('SIGKILL')
    await expect(probe.expectExit(0)).rejects.toThrow('exited (killed by SIGKILL), expected code 0')
  })

  it('stops a process for cleanup: SIGTERM first, SIGKILL when it does not exit in time', async () => {
    const polite = startNode(script, ['wait'])
    await polite.waitFor('ready', 'the ready line')
    expect(await polite.stop()).toEqual({ code: null, signal: 'SIGTERM' })
    const stubborn = startNode(script, ['stubborn'])
    await stubborn.waitFor('ready', 'the ready line')
    expect(await stubborn.stop(100)).toEqual({ code: null, signal: 'SIGKILL' })
    expect(await stubborn.stop()).toEqual({ code: null, signal: 'SIGKILL' })
    // One a test left stopped (SIGSTOP) gets its SIGTERM too.
    const frozen = startNode(script, ['wait'])
    await frozen.waitFor('ready', 'the ready line')
    frozen.kill('SIGSTOP')
    expect(await frozen.stop(10_000)).toEqual({ code: null, signal: 'SIGTERM' })
  })
})
