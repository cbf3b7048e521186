import { readFileSync } from 'node:fs'

/** One instruction: its keyword in upper case and the rest of its (joined) lines. */
export interface Instruction {
  readonly keyword: string
  readonly args: string
}

/** A build stage: its `FROM` line and what follows until the next one. */
export interface Stage {
  readonly from: string
  readonly instructions: readonly Instruction[]
}

/** The stages of a Dockerfile: comments dropped, `\` continuations joined. */
export function readDockerfile(file: string): Stage[] {
  const lines = readFileSync(file, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
  const stages: { from: string; instructions: Instruction[] }[] = []
  for (const line of lines) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? []
    const instruction = { keyword: keyword.toUpperCase(), args: args.replace(/\s+/g, ' ') }
    if (instruction.keyword === 'FROM') stages.push({ from: instruction.args, instructions: [] })
    else stages.at(-1)?.instructions.push(instruction)
  }
  return stages
}

/** The arguments of the instructions with this keyword, in order. */
export function argsOf(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args)
}

/** `ENV A=1 B=2` lines of a stage as one record. */
export function envOf(stage: Stage): Record<string, string> {
  return Object.fromEntries(
    argsOf(stage, 'ENV').flatMap((args) =>
      args.split(' ').map((pair) => pair.split('=') as [string, string]),
    ),
  )
}

/** The exec form (`["node", "dist/main.js"]`) of CMD, ENTRYPOINT or a HEALTHCHECK's CMD. */
export function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['))
  return JSON.parse(json) as string[]
}
