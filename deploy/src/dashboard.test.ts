import { describe, expect, it } from 'vitest'
import { allPanels, dashboardQueries, loadDashboard } from './test-support/dashboard.js'

// What Grafana would refuse or draw wrongly, checked without Grafana (it cannot be installed
// here). Every query is run against a real Prometheus in scrape.test.ts.
describe('dashboard', () => {
  const dashboard = loadDashboard()
  const panels = allPanels(dashboard)
  const graphs = panels.filter((panel) => panel.type !== 'row')

  it('has a uid, unique panel ids, and every graph a title, a description and a query', () => {
    expect(dashboard.uid).toBe('stockpulse-overview')
    const ids = panels.map((panel) => panel.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const panel of graphs) {
      expect(panel.title, `panel ${panel.id}`).toMatch(/\S/)
      expect((panel as { description?: string }).description, panel.title).toMatch(/\S/)
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0)
      for (const target of panel.targets ?? []) {
        expect(target.expr, `${panel.title} ${target.refId}`).toMatch(/\S/)
        expect((target as { datasource?: unknown }).datasource, panel.title).toEqual(
          panel.datasource,
        )
      }
    }
  })

  it('lays its panels out on the 24-column grid without overlaps', () => {
    const cells = new Set<string>()
    for (const { title, gridPos } of panels) {
      expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24)
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false)
          cells.add(`${x},${y}`)
        }
      }
    }
  })

  it('shows what the operations kit promises, each from its metric', () => {
    const byTitle = new Map(graphs.map((panel) => [panel.title, panel]))
    const expr = (title: string) =>
      (byTitle.get(title)?.targets ?? []).map((target) => target.expr).join('\n')
    expect(expr('Runs finished by status')).toContain('stockpulse_worker_runs_finished_total')
    expect(expr('Run duration')).toContain('stockpulse_worker_last_run_duration_seconds')
    expect(expr('Current run progress')).toContain('stockpulse_worker_current_run_stocks_processed')
    expect(expr('Throughput')).toContain('stockpulse_worker_stocks_processed_total')
    expect(expr('Failures by indicator')).toContain('stockpulse_worker_indicator_failures_total')
    expect(expr('Connections')).toContain('stockpulse_gateway_connections')
    expect(expr('Messages delivered')).toContain('stockpulse_gateway_messages_sent_total')
    expect(expr('Dropped messages')).toContain('stockpulse_gateway_messages_dropped_total')
    expect(expr('Delivery lag')).toContain('stockpulse_gateway_delivery_lag_seconds_bucket')
    expect(byTitle.get('Delivery lag')?.type).toBe('heatmap')
    expect(expr('Slow-client closes and closes by code')).toContain(
      'stockpulse_gateway_slow_disconnects_total',
    )
    expect(expr('Redis bridge')).toContain('stockpulse_gateway_bridge_ready')
    expect(dashboardQueries(dashboard).length).toBeGreaterThan(25)
  })
})
