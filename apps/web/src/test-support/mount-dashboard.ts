import { mount, type VueWrapper } from '@vue/test-utils'
import App from '../App.vue'
import { resolveConfig } from '../config'
import { createDashboardRouter } from '../router'
import type { TestServer } from './ws-server'

/** Mounts the whole dashboard at `path` against `server`, with the charts stubbed (no canvas). */
export async function mountDashboard(server: TestServer, path: string): Promise<VueWrapper> {
  // What a gateway without auth, over Redis, with no run yet answers; a test may answer otherwise first.
  server.respondUnlessSet('/api/session', 200, {
    auth: false,
    user_id: null,
    scopes: ['stockpulse:admin', 'stockpulse:operate'],
    mode: 'redis',
  })
  server.respondUnlessSet('/ws/history', 200, { runs: [] })
  server.respondUnlessSet('/ws/stats', 200, { connections: 1 })
  server.respondUnlessSet('/api/schedule', 200, {
    cron: '30 16 * * 1-5',
    tz: 'Asia/Shanghai',
    next_run_at: null,
  })
  server.respondUnlessSet('/api/workers', 200, { workers: [] })
  const router = createDashboardRouter()
  await router.push(path)
  return mount(App, {
    props: { config: resolveConfig(server.origin, location) },
    global: { plugins: [router], stubs: { UPlotChart: true } },
    attachTo: document.body,
  })
}

/** Unmounts the dashboard and waits for the requests it had on their way (aborted or answered). */
export async function unmountDashboard(wrapper: VueWrapper): Promise<void> {
  wrapper.unmount()
  await (
    window as unknown as { happyDOM: { waitUntilComplete(): Promise<void> } }
  ).happyDOM.waitUntilComplete()
}
