/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** http(s) URL of the gateway when it is not the page's own origin. */
  readonly VITE_GATEWAY_URL?: string
}
