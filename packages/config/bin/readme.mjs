#!/usr/bin/env node
// Rewrites the generated configuration tables of the READMEs from the option rows:
// `stockpulse-config-readme dist/readme.js` imports that built module and writes its README_BLOCKS.
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { writeBlocks } from '../dist/index.js'

const [module] = process.argv.slice(2)
if (!module) {
  process.stderr.write('usage: stockpulse-config-readme <built module exporting README_BLOCKS>\n')
  process.exit(2)
}
const { README_BLOCKS } = await import(pathToFileURL(resolve(module)).href)
for (const file of writeBlocks(README_BLOCKS)) process.stdout.write(`rewrote ${file}\n`)
