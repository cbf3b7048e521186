import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { RULES_FILE } from './paths.js'

export interface Rule {
  readonly record?: string
  readonly alert?: string
  readonly expr: string
  readonly for?: string
  readonly labels?: Record<string, string>
  readonly annotations?: Record<string, string>
}

export interface RuleGroup {
  readonly name: string
  readonly interval?: string
  readonly rules: readonly Rule[]
}

/** The groups of deploy/prometheus/rules/stockpulse.rules.yml. */
export function loadRules(): RuleGroup[] {
  return (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: RuleGroup[] }).groups
}

/** Every rule of every group. */
export function allRules(): Rule[] {
  return loadRules().flatMap((group) => group.rules)
}
