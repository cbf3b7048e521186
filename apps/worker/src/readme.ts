import { fileURLToPath } from 'node:url'
import { isShared, type MarkdownBlock, optionTable } from '@stockpulse/config'
import { WORKER_OPTIONS } from './options.js'

/** The worker's configuration tables in its README and the root one (`pnpm docs:config`). */
export const README_BLOCKS: readonly MarkdownBlock[] = [
  {
    file: fileURLToPath(new URL('../README.md', import.meta.url)),
    name: 'config:worker',
    content: optionTable(WORKER_OPTIONS, ['flag', 'variable', 'default', 'accepts', 'meaning']),
  },
  {
    file: fileURLToPath(new URL('../../../README.md', import.meta.url)),
    name: 'config:worker-summary',
    content: optionTable(
      WORKER_OPTIONS,
      ['variable', 'default', 'meaning'],
      (row) => row.env !== undefined && !isShared(row),
    ),
  },
]
