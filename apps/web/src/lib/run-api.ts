import {
  isScheduleResponse,
  isWorkerInfo,
  type ScheduleResponse,
  type WorkerInfo,
} from '@stockpulse/events'

// The bodies of the gateway's run API (`GET /api/workers`, `GET /api/schedule`), checked against
// the contract: they come from outside, and a worker entry that breaks it drops that entry, not the page.

/** The workers of a `WorkersResponse`, each entry checked; undefined when the body is not one. */
export function parseWorkers(body: unknown): WorkerInfo[] | undefined {
  const list =
    typeof body === 'object' && body !== null ? (body as { workers?: unknown }).workers : undefined
  return Array.isArray(list) ? list.filter(isWorkerInfo) : undefined
}

/** A `ScheduleResponse`; undefined when the body is not one. */
export function parseSchedule(body: unknown): ScheduleResponse | undefined {
  return isScheduleResponse(body) ? body : undefined
}
