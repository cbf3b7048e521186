import { fileURLToPath } from 'node:url'

/** The repository's root directory. */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url))
/** `deploy/`. */
export const DEPLOY = fileURLToPath(new URL('../../', import.meta.url))
/** `deploy/prometheus/`: the example config, `rules/` and `tests/`. */
export const PROMETHEUS_DIR = fileURLToPath(new URL('../../prometheus/', import.meta.url))
/** The rules file every test loads. */
export const RULES_FILE = `${PROMETHEUS_DIR}rules/stockpulse.rules.yml`
/** The Grafana dashboard. */
export const DASHBOARD_FILE = fileURLToPath(
  new URL('../../grafana/dashboards/stockpulse.json', import.meta.url),
)
/** The operations guide the runbook_url annotations point into. */
export const OPERATIONS_DOC = fileURLToPath(new URL('../../../docs/operations.md', import.meta.url))
