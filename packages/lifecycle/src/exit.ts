/** How long a stopped program may take to let go of its last handles before it is made to exit. */
export const EXIT_GRACE_MS = 2_000

/**
 * Ends a program that has stopped in order with `code`: it exits by itself once nothing holds it
 * open; a handle something failed to close (a library's socket that reconnected while it was
 * being closed, say) cannot keep it alive past `graceMs`, and is named on stderr before the exit.
 */
export function exitWhenStopped(program: string, code: number, graceMs = EXIT_GRACE_MS): void {
  process.exitCode = code
  setTimeout(() => {
    // Less this timer and the standard streams, which never hold a process open.
    const held = process
      .getActiveResourcesInfo()
      .filter((kind) => !['Timeout', 'PipeWrap', 'TTYWrap'].includes(kind))
    process.stderr.write(
      `${program}: stopped, but still held open after ${graceMs} ms by ${held.join(', ') || 'nothing known'}: exiting with code ${code}\n`,
    )
    process.exit(code)
  }, graceMs).unref()
}
