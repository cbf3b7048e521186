import { fileURLToPath } from 'node:url'
import { isShared, type MarkdownBlock, optionTable } from '@stockpulse/config'
import { GATEWAY_OPTIONS } from './config.js'

/** The gateway's configuration tables in its README and the root one (`pnpm docs:config`). */
export const README_BLOCKS: readonly MarkdownBlock[] = [
  {
    file: fileURLToPath(new URL('../README.md', import.meta.url)),
    name: 'config:gateway',
    content: optionTable(GATEWAY_OPTIONS, ['variable', 'default', 'accepts', 'meaning']),
  },
  {
    file: fileURLToPath(new URL('../../../README.md', import.meta.url)),
    name: 'config:gateway-summary',
    content: optionTable(
      GATEWAY_OPTIONS,
      ['variable', 'default', 'meaning'],
      (row) => !isShared(row),
    ),
  },
]
