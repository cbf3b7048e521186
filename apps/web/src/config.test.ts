import { describe, expect, it } from 'vitest'
import { resolveConfig, TOKEN_STORAGE_KEY } from './config'

describe('resolveConfig', () => {
  it.each([
    [
      undefined,
      'http://localhost:5173/#/tasks',
      'ws://localhost:5173/ws/events',
      'http://localhost:5173/ws/stats',
      'http://localhost:5173/ws/history',
      'http://localhost:5173/api/',
    ],
    [
      undefined,
      'https://pulse.example.com/app/',
      'wss://pulse.example.com/ws/events',
      'https://pulse.example.com/ws/stats',
      'https://pulse.example.com/ws/history',
      'https://pulse.example.com/api/',
    ],
    [
      'https://gw.example.com',
      'http://localhost:5173/',
      'wss://gw.example.com/ws/events',
      'https://gw.example.com/ws/stats',
      'https://gw.example.com/ws/history',
      'https://gw.example.com/api/',
    ],
    [
      'http://10.0.0.5:8000/pulse',
      'https://x.example/',
      'ws://10.0.0.5:8000/pulse/ws/events',
      'http://10.0.0.5:8000/pulse/ws/stats',
      'http://10.0.0.5:8000/pulse/ws/history',
      'http://10.0.0.5:8000/pulse/api/',
    ],
  ])('VITE_GATEWAY_URL=%s on %s -> %s', (gateway, page, events, stats, history, api) => {
    expect(resolveConfig(gateway, { href: page })).toEqual({
      eventsUrl: events,
      statsUrl: stats,
      historyUrl: history,
      apiUrl: api,
      token: expect.any(Function),
    })
  })

  it('reads the token from the storage at every call, none when it holds none', () => {
    const storage = new Map<string, string>()
    const config = resolveConfig(
      undefined,
      { href: 'http://localhost/' },
      {
        getItem: (key) => storage.get(key) ?? null,
      },
    )
    expect(config.token()).toBeUndefined()
    storage.set(TOKEN_STORAGE_KEY, 'jwt-1')
    expect(config.token()).toBe('jwt-1')
    storage.set(TOKEN_STORAGE_KEY, 'jwt-2')
    expect(config.token()).toBe('jwt-2')
    expect(resolveConfig(undefined, { href: 'http://localhost/' }).token()).toBeUndefined()
  })

  it.each([
    ['gw.example.com', 'VITE_GATEWAY_URL="gw.example.com": not an absolute URL'],
    [
      'ws://gw.example.com',
      'VITE_GATEWAY_URL="ws://gw.example.com": must start with http:// or https://',
    ],
  ])('refuses %s', (gateway, message) => {
    expect(() => resolveConfig(gateway, { href: 'http://localhost/' })).toThrow(message)
  })
})
