import { describe, expect, it } from 'vitest'
import { metricNames } from './promql.js'

describe('promql', () => {
  it.each([
    ['up', ['up']],
    ['up{job="stockpulse-worker"} == 1', ['up']],
    ['absent(up{job=~"a|b"} == 1)', ['up']],
    [
      'sum by (instance, le) (rate(stockpulse_gateway_delivery_lag_seconds_bucket[5m]))',
      ['stockpulse_gateway_delivery_lag_seconds_bucket'],
    ],
    [
      'sum(rate(a_total[1m])) without (job) / on(instance) group_left(version) b_info',
      ['a_total', 'b_info'],
    ],
    ['x - x offset 1m > 0 and on() y or vector(0)', ['x', 'y']],
    ['quantile_over_time(0.5, stockpulse:run:median[11d:1m])', ['stockpulse:run:median']],
    ['histogram_quantile(0.99, sum by (le) (rate(h_bucket[$__rate_interval])))', ['h_bucket']],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable, not a template
    ['rate(c_total[${interval}]) * 1e3 + 0x1F - .5 + Inf - NaN', ['c_total']],
    ['label_replace(m, "dst", "$1 and or up", "src", "(.*)") > bool 2', ['m']],
    ['time() - max(t{a="}"} > 0) @ end()', ['t']],
    ['topk(5, sum by (reason) (increase(d_total{reason!~"conflated"}[$__range])))', ['d_total']],
  ])('%s -> %j', (expr, names) => {
    expect([...metricNames(expr)].sort()).toEqual([...names].sort())
  })
})
