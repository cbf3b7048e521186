import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
// @ts-expect-error plain ESM script without types
import { renderContractFiles } from '../scripts/export-schema.mjs'
import * as contract from './index.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

describe('contract', () => {
  it('matches the committed JSON Schema files and REFERENCE.md (run `pnpm schema` after a change)', () => {
    const files: Record<string, string> = renderContractFiles(contract)
    const committed = readdirSync(join(root, 'schema')).map((f) => `schema/${f}`)
    expect(committed.sort()).toEqual(
      Object.keys(files)
        .filter((f) => f.startsWith('schema/'))
        .sort(),
    )
    for (const [path, content] of Object.entries(files)) {
      expect(readFileSync(join(root, path), 'utf8'), path).toBe(content)
    }
  })

  it('is importable by package name from a plain Node ESM script after build', () => {
    const script = `
      import { readFileSync } from 'node:fs'
      import { validateEvent, TASKS_ALL } from '@stockpulse/events'
      const events = JSON.parse(readFileSync('fixtures/seed-appendix.json', 'utf8'))
      console.log(TASKS_ALL, events.map((e) => validateEvent(e).ok).join(','))
    `
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root })
    expect(out.toString().trim()).toBe('events:tasks true,true,true,true')
  })
})
