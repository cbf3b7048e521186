import { readFileSync } from 'node:fs'
import { DASHBOARD_FILE } from './paths.js'

export interface Panel {
  readonly id: number
  readonly type: string
  readonly title: string
  readonly datasource?: { readonly type: string; readonly uid: string }
  readonly targets?: readonly { readonly refId: string; readonly expr: string }[]
  readonly panels?: readonly Panel[]
  readonly gridPos: {
    readonly h: number
    readonly w: number
    readonly x: number
    readonly y: number
  }
}

export interface Dashboard {
  readonly uid: string
  readonly title: string
  readonly panels: readonly Panel[]
}

/** One query of the dashboard, with the title of its panel. */
export interface PanelQuery {
  readonly panel: string
  readonly refId: string
  readonly expr: string
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard
}

/** Every panel, those inside rows too. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])])
}

export function dashboardQueries(dashboard: Dashboard): PanelQuery[] {
  return allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map(({ refId, expr }) => ({ panel: panel.title, refId, expr })),
  )
}

/** The expression as Grafana sends it: its interval variables replaced by values. */
export function withGrafanaVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '1m')
    .replaceAll('$__range', '1h')
}
