import { readFileSync, writeFileSync } from 'node:fs'
import { MarkdownBlockError } from './errors.js'
import { labelOf } from './help.js'
import { defaultOf, type Option } from './option.js'
import type { OptionSpec } from './spec.js'

/** The columns a configuration table can have, each rendered from the rows. */
export type Column = 'flag' | 'variable' | 'default' | 'accepts' | 'meaning'

/**
 * A generated part of a markdown file: `content` between `<!-- name:start -->` and
 * `<!-- name:end -->`, apart from them by a blank line (so a table ends before the end marker).
 */
export interface MarkdownBlock {
  /** Absolute path of the markdown file. */
  readonly file: string
  /** `config:worker`. */
  readonly name: string
  readonly content: string
}

/** The configuration table of `spec`, one line per row, columns padded as biome formats markdown. */
export function optionTable(
  spec: OptionSpec,
  columns: readonly Column[],
  include: (option: Option<unknown>) => boolean = () => true,
): string {
  const rows = Object.values(spec)
    .filter(include)
    .map((option) => columns.map((column) => CELLS[column](option)))
  return markdownTable(columns, rows)
}

/** A markdown table with every column padded to its widest cell; `|` in a cell is escaped. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const escaped = [header, ...rows].map((row) => row.map((cell) => cell.replaceAll('|', '\\|')))
  const widths = header.map((_, i) => Math.max(3, ...escaped.map((row) => row[i]!.length)))
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`
  const [head, ...body] = escaped
  return [line(head!), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)].join('\n')
}

/** The content between the block's markers in `markdown`; undefined when a marker is missing. */
export function readBlock(markdown: string, name: string): string | undefined {
  const found = locate(markdown, name)
  return found && markdown.slice(found.from, found.to).replace(/^\n+|\n+$/g, '')
}

/** `markdown` with the block's content replaced; throws when a marker is missing. */
export function replaceBlock(markdown: string, name: string, content: string): string {
  const found = locate(markdown, name)
  if (!found) throw new MarkdownBlockError(name)
  return `${markdown.slice(0, found.from)}\n\n${content}\n\n${markdown.slice(found.to)}`
}

/** Rewrites every block in its file, none when a marker is missing; returns the files that changed. */
export function writeBlocks(blocks: readonly MarkdownBlock[]): string[] {
  const files = [...new Set(blocks.map((block) => block.file))].map((file) => {
    const before = readFileSync(file, 'utf8')
    const after = blocks
      .filter((block) => block.file === file)
      .reduce((markdown, block) => replaceBlock(markdown, block.name, block.content), before)
    return { file, before, after }
  })
  const changed = files.filter(({ before, after }) => after !== before)
  for (const { file, after } of changed) writeFileSync(file, after)
  return changed.map(({ file }) => file)
}

// ---- Helpers ----

const CELLS: Readonly<Record<Column, (option: Option<unknown>) => string>> = {
  flag: (option) => (option.flag === undefined ? '' : code(labelOf(option))),
  variable: (option) => (option.env === undefined ? '' : code(option.env)),
  default: (option) =>
    option.defaultText !== undefined || option.kind === 'boolean' || option.default === undefined
      ? text(defaultOf(option))
      : code(defaultOf(option)),
  accepts: (option) =>
    option.kind === 'boolean' && option.env === undefined ? '' : text(option.expected),
  meaning: (option) =>
    text(option.only === undefined ? option.help : `${option.only} only: ${option.help}`),
}

// A word with a <placeholder> in it (`SMA_<n>`, `calc_<epoch ms>_<4 hex>`), which markdown would
// otherwise take for an HTML tag.
const PLACEHOLDER_WORD = /[^\s,;()]*(?:<[^>]*>[^\s,;()<]*)+/g

function code(text: string): string {
  return `\`${text}\``
}

// Plain text, with the words markdown would misread set as code.
function text(plain: string): string {
  return plain.replace(PLACEHOLDER_WORD, code)
}

// Where the content of a block starts (after its start marker) and ends (at its end marker).
function locate(markdown: string, name: string): { from: number; to: number } | undefined {
  const start = markdown.indexOf(`<!-- ${name}:start`)
  const from = start === -1 ? -1 : markdown.indexOf('-->', start) + 3
  const to = from < 3 ? -1 : markdown.indexOf(`<!-- ${name}:end -->`, from)
  return to === -1 ? undefined : { from, to }
}
