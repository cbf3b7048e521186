import {
  type ApiRefusal,
  RunErrorCode,
  type RunRequest,
  validateRunRequest,
} from '@stockpulse/events'
import { resolveIndicators } from '@stockpulse/indicators'

/** What a submit or cancel came to: the HTTP status and body the gateway answers with. */
export type RunOutcome =
  | { readonly status: 202; readonly body: { readonly task_id: string } }
  | { readonly status: 400 | 404 | 409 | 503; readonly body: ApiRefusal }

/** Largest `POST /api/runs` body read; longer ones are refused unread. */
export const MAX_RUN_REQUEST_BYTES = 4096

/**
 * A run request from outside (a parsed JSON body, or CLI flags): the request, or the 400 outcome
 * saying why it is refused. Indicator ids must be known to this build.
 */
export function checkRunRequest(
  value: unknown,
):
  | { readonly ok: true; readonly request: RunRequest }
  | { readonly ok: false; readonly outcome: RunOutcome } {
  const checked = validateRunRequest(value)
  if (!checked.ok)
    return { ok: false, outcome: refusal(400, RunErrorCode.INVALID_REQUEST, checked.reason) }
  const { indicators } = checked.value
  if (indicators) {
    try {
      resolveIndicators(indicators)
    } catch (error) {
      return {
        ok: false,
        outcome: refusal(
          400,
          RunErrorCode.INVALID_REQUEST,
          `indicators: ${(error as Error).message}`,
        ),
      }
    }
  }
  return { ok: true, request: checked.value }
}

/** The same, from a request body's text. */
export function parseRunRequest(text: string): ReturnType<typeof checkRunRequest> {
  let value: unknown
  try {
    value = text.trim() === '' ? {} : JSON.parse(text)
  } catch {
    return {
      ok: false,
      outcome: refusal(400, RunErrorCode.INVALID_REQUEST, 'the body is not JSON'),
    }
  }
  return checkRunRequest(value)
}

/** A refusal outcome. */
export function refusal(status: 400 | 404 | 409 | 503, error: string, reason: string): RunOutcome {
  return { status, body: { error, reason } }
}
