import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { metricNames } from './promql.js'
import { githubSlug } from './test-support/markdown.js'
import { OPERATIONS_DOC, PROMETHEUS_DIR, RULES_FILE } from './test-support/paths.js'
import { allRules } from './test-support/rules.js'
import { run } from './test-support/run.js'

interface UnitTests {
  tests: {
    name: string
    alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[]
  }[]
}

const TESTS_DIR = join(PROMETHEUS_DIR, 'tests')

describe('rules', () => {
  const rules = allRules()
  const alerts = rules.filter((rule) => rule.alert !== undefined)
  const records = rules.filter((rule) => rule.record !== undefined)
  let testFiles: string[]
  let unitTests: UnitTests['tests']
  beforeAll(async () => {
    testFiles = (await readdir(TESTS_DIR)).filter((file) => file.endsWith('.test.yml')).sort()
    unitTests = []
    for (const file of testFiles) {
      const parsed = parse(await readFile(join(TESTS_DIR, file), 'utf8')) as UnitTests
      unitTests.push(...parsed.tests)
    }
  })

  it('pass promtool check rules', async () => {
    const result = await run('promtool', ['check', 'rules', RULES_FILE])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(`SUCCESS: ${rules.length} rules found`)
  })

  it('pass promtool test rules', async () => {
    const result = await run('promtool', ['test', 'rules', ...testFiles], { cwd: TESTS_DIR })
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0)
    expect(result.stdout.match(/SUCCESS/g)).toHaveLength(testFiles.length)
  })

  it.each(alerts.map((rule) => [rule.alert!] as const))(
    '%s has a unit test where it fires and one where it stays quiet',
    (alertname) => {
      const cases = unitTests.flatMap((test) =>
        (test.alert_rule_test ?? []).filter((check) => check.alertname === alertname),
      )
      expect(
        cases.some((check) => (check.exp_alerts ?? []).length > 0),
        'a firing case',
      ).toBe(true)
      expect(
        cases.some((check) => (check.exp_alerts ?? []).length === 0),
        'a quiet case',
      ).toBe(true)
    },
  )

  it.each(alerts.map((rule) => [rule.alert!, rule] as const))(
    '%s has a severity, a summary, a description and a runbook in docs/operations.md',
    async (alertname, rule) => {
      expect(['page', 'ticket']).toContain(rule.labels?.severity)
      expect(rule.annotations?.summary).toMatch(/\S/)
      expect(rule.annotations?.description).toMatch(/\S/)
      const slug = alertname.toLowerCase()
      expect(rule.annotations?.runbook_url).toBe(`docs/operations.md#${slug}`)
      const headings = (await readFile(OPERATIONS_DOC, 'utf8'))
        .split('\n')
        .filter((line) => /^#{1,6} /.test(line))
        .map((line) => githubSlug(line.replace(/^#+ /, '')))
      expect(headings).toContain(slug)
    },
  )

  it('define every recording rule they use, and use every one they define', () => {
    const defined = new Set(records.map((rule) => rule.record!))
    const used = new Set(rules.flatMap((rule) => [...metricNames(rule.expr)]))
    expect([...used].filter((name) => name.includes(':') && !defined.has(name))).toEqual([])
    expect([...defined].filter((name) => !used.has(name))).toEqual([])
  })

  describe('a broken expectation', () => {
    let dir: string
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'stockpulse-rules-'))
      await cp(PROMETHEUS_DIR, dir, { recursive: true })
    })
    afterAll(() => rm(dir, { recursive: true, force: true }))

    it('fails promtool test rules, naming the alert', async () => {
      const file = join(dir, 'tests', 'gateway.test.yml')
      const text = await readFile(file, 'utf8')
      await writeFile(file, text.replace('summary: Gateway g1:8000 has lost Redis', 'summary: x'))
      const result = await run('promtool', ['test', 'rules', 'gateway.test.yml'], {
        cwd: join(dir, 'tests'),
      })
      expect(result.code).toBe(1)
      expect(result.stdout + result.stderr).toContain('alertname: StockPulseGatewayBridgeDown')
    })
  })
})
