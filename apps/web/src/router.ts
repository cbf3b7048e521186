import { createRouter, createWebHashHistory, type Router } from 'vue-router'
import HistoryView from './views/HistoryView.vue'
import StockView from './views/StockView.vue'
import SystemView from './views/SystemView.vue'
import TaskDetailView from './views/TaskDetailView.vue'
import TasksView from './views/TasksView.vue'

/** Hash routes, so any static host (or the gateway's STATIC_DIR) serves the app from one index.html. */
export function createDashboardRouter(): Router {
  return createRouter({
    history: createWebHashHistory(),
    routes: [
      { path: '/', name: 'tasks', component: TasksView },
      { path: '/tasks/:id', name: 'task', component: TaskDetailView, props: true },
      { path: '/stocks/:code?', name: 'stock', component: StockView, props: true },
      { path: '/history', name: 'history', component: HistoryView },
      { path: '/system', name: 'system', component: SystemView },
      { path: '/:rest(.*)*', redirect: '/' },
    ],
  })
}
