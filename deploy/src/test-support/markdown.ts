/** The anchor GitHub gives a markdown heading: lower case, punctuation dropped, spaces to `-`. */
export function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

/** The first fenced code block after the heading `heading` of a markdown document. */
export function codeBlockAfter(markdown: string, heading: string): string {
  const at = markdown.split('\n').findIndex((line) => line.replace(/^#+ /, '') === heading)
  if (at < 0) throw new Error(`no heading "${heading}"`)
  const rest = markdown
    .split('\n')
    .slice(at + 1)
    .join('\n')
  const block = /```\w*\n([\s\S]*?)```/.exec(rest)?.[1]
  if (block === undefined) throw new Error(`no code block after "${heading}"`)
  return block
}
