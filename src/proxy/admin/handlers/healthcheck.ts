import { text } from '../responses.js';
import type { AdminHandler } from '../types.js';

/** POST /healthcheck/fail: fail health checks (the server reports DRAINING) until /healthcheck/ok. */
export const healthcheckFailHandler: AdminHandler = {
  path: '/healthcheck/fail',
  help: 'cause the server to fail health checks',
  mutatesState: true,
  handle(_request, context) {
    context.healthCheckFailed = true;
    return text(200, 'OK\n');
  },
};

export const healthcheckOkHandler: AdminHandler = {
  path: '/healthcheck/ok',
  help: 'cause the server to pass health checks',
  mutatesState: true,
  handle(_request, context) {
    context.healthCheckFailed = false;
    return text(200, 'OK\n');
  },
};
