import { createApp } from 'vue'
import App from './App.vue'
import { resolveConfig } from './config'
import { createDashboardRouter } from './router'
import './styles.css'

const config = resolveConfig(
  import.meta.env.VITE_GATEWAY_URL,
  window.location,
  window.sessionStorage,
)
createApp(App, { config }).use(createDashboardRouter()).mount('#app')
