import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, posix, sep } from 'node:path'

/** Serves one GET or HEAD for `pathname` out of the directory. */
export type StaticFiles = (
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
) => Promise<void>

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.webmanifest': 'application/manifest+json',
}

/**
 * A built single-page app: files by path with their content type, `index.html` for paths without
 * an extension (client-side routes), 404 for missing assets. Nothing outside `root` is reachable.
 */
export function createStaticFiles(root: string): StaticFiles {
  const index = join(root, 'index.html')
  return async (req, res, pathname) => {
    let path: string
    try {
      path = decodeURIComponent(pathname)
    } catch {
      return plain(res, 400, 'bad path')
    }
    if (path.includes('\0')) return plain(res, 400, 'bad path')
    const normalized = posix.normalize(`/${path}`)
    const file = join(root, normalized)
    if (file !== root && !file.startsWith(root + sep)) return plain(res, 404, 'not found')
    const found = await fileAt(file)
    // Vite puts content hashes in asset names; anything else must be revalidated.
    if (found) return serve(req, res, found, normalized.startsWith('/assets/'))
    if (extname(path) === '' && (await fileAt(index))) return serve(req, res, index, false)
    return plain(res, 404, 'not found')
  }
}

// ---- Helpers ----

/** The file to serve for `path`: itself, or its index.html when it is a directory. */
async function fileAt(path: string): Promise<string | undefined> {
  const info = await stat(path).catch(() => undefined)
  if (info?.isFile()) return path
  if (!info?.isDirectory()) return undefined
  const inner = join(path, 'index.html')
  return (await stat(inner).catch(() => undefined))?.isFile() ? inner : undefined
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  file: string,
  immutable: boolean,
): Promise<void> {
  const { size } = await stat(file)
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': size,
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  })
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res)
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text)
}
