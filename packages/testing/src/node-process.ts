import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { until } from './wait.js'

/** How a process ended. */
export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A Node.js child process whose output is collected, for tests that run the built CLIs. */
export interface NodeProcess {
  readonly child: ChildProcess
  readonly stdout: string
  readonly stderr: string
  /** Resolves once the process has exited and its output is complete. */
  readonly exited: Promise<Exit>
  /** Resolves once `pattern` appears on stdout or stderr; rejects after `timeoutMs` (or an exit). */
  waitFor(pattern: string | RegExp, what: string, timeoutMs?: number): Promise<void>
  /**
   * Resolves once the process exits with `code` (a number), or dies of `code` (a signal's name);
   * rejects naming how it really ended (or that it did not within `timeoutMs`) with the end of
   * its stderr, so a crash shows its cause.
   */
  expectExit(code: number | NodeJS.Signals, timeoutMs?: number): Promise<void>
  kill(signal?: NodeJS.Signals): void
  /**
   * Cleanup after a test: SIGTERM, then SIGKILL (to the whole group when detached) if it has not
   * exited within `timeoutMs`. Resolves once it has exited; does nothing to one already gone.
   */
  stop(timeoutMs?: number): Promise<Exit>
}

export interface StartNodeOptions {
  readonly env?: NodeJS.ProcessEnv
  readonly cwd?: string
  /** Extra `node` flags before the script. */
  readonly nodeArgs?: readonly string[]
  /** A process group of its own, so a test can kill the process and everything it started. */
  readonly detached?: boolean
}

/** Starts `node <script> ...args`, collecting its output. */
export function startNode(
  script: string,
  args: readonly string[] = [],
  options: StartNodeOptions = {},
): NodeProcess {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    env: options.env ?? process.env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    detached: options.detached ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  let ended: Exit | undefined
  // 'close' comes after the output streams ended, unlike 'exit'.
  const exited = once(child, 'close').then(([code, signal]) => {
    ended = { code, signal } as Exit
    return ended
  })
  const describe = () => `${tail(stderr) || '(stderr is empty)'}`

  return {
    child,
    get stdout() {
      return stdout
    },
    get stderr() {
      return stderr
    },
    exited,
    async waitFor(pattern, what, timeoutMs = 20_000) {
      const found = () => [stdout, stderr].some((text) => matches(text, pattern))
      try {
        await until(() => found() || ended !== undefined, what, timeoutMs)
      } catch (error) {
        throw new Error(`${(error as Error).message}; stderr:\n${describe()}`)
      }
      if (!found()) {
        throw new Error(`exited (${how(ended!)}) before ${what}; stderr:\n${describe()}`)
      }
    },
    async expectExit(code, timeoutMs = 20_000) {
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs)
      })
      const exit = await Promise.race([exited, timedOut])
      clearTimeout(timer)
      if (exit === undefined) {
        throw new Error(`did not exit within ${timeoutMs} ms; stderr:\n${describe()}`)
      }
      const expected = typeof code === 'number' ? exit.code === code : exit.signal === code
      if (!expected) {
        const wanted = typeof code === 'number' ? `code ${code}` : `death by ${code}`
        throw new Error(`exited (${how(exit)}), expected ${wanted}; stderr:\n${describe()}`)
      }
    },
    kill(signal = 'SIGTERM') {
      if (ended === undefined) child.kill(signal)
    },
    async stop(timeoutMs = 20_000) {
      if (ended) return ended
      child.kill('SIGTERM')
      // A test may have stopped it (SIGSTOP) and failed before letting it go on.
      child.kill('SIGCONT')
      const timer = setTimeout(() => {
        if (ended) return
        if (options.detached) process.kill(-child.pid!, 'SIGKILL')
        else child.kill('SIGKILL')
      }, timeoutMs)
      const exit = await exited
      clearTimeout(timer)
      return exit
    },
  }
}

function matches(text: string, pattern: string | RegExp): boolean {
  return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)
}

function how(exit: Exit): string {
  return exit.signal ? `killed by ${exit.signal}` : `code ${exit.code}`
}

function tail(text: string): string {
  return text.length > 4_000 ? `...${text.slice(-4_000)}` : text
}
