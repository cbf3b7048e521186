import { createReadStream, realpathSync } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { extname, join, posix, sep } from 'node:path'

/** Serves one GET or HEAD for `pathname` out of the directory. */
export type StaticFiles = (
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
) => Promise<void>

const CONTENT_TYPES: ReadonlyMap<string, string> = new Map([
  ['.html', 'text/html; charset=utf-8'],
  ['.js', 'text/javascript; charset=utf-8'],
  ['.mjs', 'text/javascript; charset=utf-8'],
  ['.css', 'text/css; charset=utf-8'],
  ['.json', 'application/json; charset=utf-8'],
  ['.map', 'application/json; charset=utf-8'],
  ['.txt', 'text/plain; charset=utf-8'],
  ['.svg', 'image/svg+xml'],
  ['.png', 'image/png'],
  ['.jpg', 'image/jpeg'],
  ['.jpeg', 'image/jpeg'],
  ['.gif', 'image/gif'],
  ['.webp', 'image/webp'],
  ['.ico', 'image/x-icon'],
  ['.woff', 'font/woff'],
  ['.woff2', 'font/woff2'],
  ['.ttf', 'font/ttf'],
  ['.wasm', 'application/wasm'],
  ['.webmanifest', 'application/manifest+json'],
])

/** A `Host` header fit to be named in the CSP: a DNS name or IP literal, and a port. */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

/**
 * A built single-page app: regular files by path with their content type, `index.html` for
 * paths without an extension (client-side routes), 404 for missing assets. Only files whose real
 * path (symlinks resolved) is inside `root` are served, and no dotfile or dot-directory. Every
 * answer carries a Content-Security-Policy allowing the page's own origin and its WebSocket.
 */
export function createStaticFiles(root: string): StaticFiles {
  const realRoot = realpathSync(root)
  const inside = (path: string) => path === realRoot || path.startsWith(realRoot + sep)
  const index = join(realRoot, 'index.html')
  return async (req, res, pathname) => {
    const headers = securityHeaders(req)
    let path: string
    try {
      path = decodeURIComponent(pathname)
    } catch {
      return plain(res, 400, 'bad path', headers)
    }
    if (path.includes('\0')) return plain(res, 400, 'bad path', headers)
    // Dotfiles (.env, .git/...) are never served, and `.`/`..` segments are not followed.
    if (path.split(/[/\\]/).some((segment) => segment.startsWith('.'))) {
      return plain(res, 404, 'not found', headers)
    }
    const normalized = posix.normalize(`/${path}`)
    const found = await fileAt(join(realRoot, normalized), inside)
    // Vite puts content hashes in asset names; anything else must be revalidated.
    if (found) return serve(req, res, found, normalized.startsWith('/assets/'), headers)
    if (extname(path) === '' && (await fileAt(index, inside))) {
      return serve(req, res, index, false, headers)
    }
    return plain(res, 404, 'not found', headers)
  }
}

// ---- Helpers ----

/**
 * The regular file to serve for `path` (itself, or its index.html when it is a directory), by its
 * real path, when that is inside the root.
 */
async function fileAt(
  path: string,
  inside: (real: string) => boolean,
): Promise<string | undefined> {
  const real = await realpath(path).catch(() => undefined)
  if (real === undefined || !inside(real)) return undefined
  const info = await stat(real).catch(() => undefined)
  if (info?.isFile()) return real
  if (!info?.isDirectory()) return undefined
  return fileAt(join(real, 'index.html'), inside)
}

function securityHeaders(req: IncomingMessage): OutgoingHttpHeaders {
  const host = req.headers.host
  const sockets = host && HOST.test(host) ? ` ws://${host} wss://${host}` : ''
  return {
    'content-security-policy': [
      "default-src 'self'",
      // The dashboard runs the contract's compiled validators (TypeBox compiles with `new
      // Function`); inline scripts and scripts from elsewhere stay refused.
      "script-src 'self' 'unsafe-eval'",
      `connect-src 'self'${sockets}`,
      "img-src 'self' data:",
      "object-src 'none'",
      "base-uri 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  }
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  file: string,
  immutable: boolean,
  headers: OutgoingHttpHeaders,
): Promise<void> {
  const { size } = await stat(file)
  res.writeHead(200, {
    ...headers,
    'content-type': CONTENT_TYPES.get(extname(file).toLowerCase()) ?? 'application/octet-stream',
    'content-length': size,
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  })
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res)
}

function plain(
  res: ServerResponse,
  status: number,
  text: string,
  headers: OutgoingHttpHeaders,
): void {
  res.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end(text)
}
