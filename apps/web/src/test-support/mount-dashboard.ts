import { mount, type VueWrapper } from '@vue/test-utils'
import App from '../App.vue'
import { resolveConfig } from '../config'
import { createDashboardRouter } from '../router'
import type { TestServer } from './ws-server'

/** Mounts the whole dashboard at `path` against `server`, with the charts stubbed (no canvas). */
export async function mountDashboard(server: TestServer, path: string): Promise<VueWrapper> {
  const router = createDashboardRouter()
  await router.push(path)
  return mount(App, {
    props: { config: resolveConfig(server.origin, location) },
    global: { plugins: [router], stubs: { UPlotChart: true } },
    attachTo: document.body,
  })
}
