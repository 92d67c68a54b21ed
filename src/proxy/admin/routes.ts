import { clustersHandler } from './handlers/clusters.js';
import { configDumpHandler } from './handlers/config-dump.js';
import { healthcheckFailHandler, healthcheckOkHandler } from './handlers/healthcheck.js';
import { listenersHandler } from './handlers/listeners.js';
import { memoryHandler } from './handlers/memory.js';
import { quitHandler } from './handlers/quit.js';
import { readyHandler } from './handlers/ready.js';
import { serverInfoHandler } from './handlers/server-info.js';
import { traceHandler } from './handlers/trace.js';
import { prometheusHandler, statsHandler } from './handlers/stats.js';
import { text } from './responses.js';
import type { AdminContext, AdminHandler, AdminRequest, AdminResponse } from './types.js';

/** Envoy's /help text: one "  path: help" line per endpoint, sorted by path. */
export function helpText(): string {
  return `admin commands are:\n${ADMIN_HANDLERS.map((h) => `  ${h.path}: ${h.help}\n`).join('')}`;
}

const helpHandler = (path: string, help: string): AdminHandler => ({
  path,
  help,
  mutatesState: false,
  handle: () => text(200, helpText()),
});

/** Every admin endpoint. Matching is on the exact path, as in Envoy. */
export const ADMIN_HANDLERS: readonly AdminHandler[] = [
  helpHandler('/', 'Admin home page'),
  clustersHandler,
  configDumpHandler,
  healthcheckFailHandler,
  healthcheckOkHandler,
  helpHandler('/help', 'print out list of admin commands'),
  listenersHandler,
  memoryHandler,
  quitHandler,
  readyHandler,
  serverInfoHandler,
  statsHandler,
  prometheusHandler,
  traceHandler,
].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

const BY_PATH = new Map(ADMIN_HANDLERS.map((h) => [h.path, h]));

/** Routes one request: 404 with the command list for an unknown path, 405 for GET on a mutation. */
export function dispatch(request: AdminRequest, context: AdminContext): AdminResponse {
  const handler = BY_PATH.get(request.path);
  if (!handler) return text(404, `invalid path. ${helpText()}`);
  if (handler.mutatesState && request.method !== 'POST') return text(405, `Method ${request.method} not allowed, POST required.\n`);
  try {
    return handler.handle(request, context);
  } catch (err) {
    return text(500, `${request.path} failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}
