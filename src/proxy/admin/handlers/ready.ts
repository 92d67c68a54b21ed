import { text } from '../responses.js';
import type { AdminHandler } from '../types.js';

/** GET /ready: the server state; 200 only when LIVE, so it can serve as a readiness probe. */
export const readyHandler: AdminHandler = {
  path: '/ready',
  help: 'print server state, return 200 if LIVE, otherwise return 503',
  mutatesState: false,
  handle(_request, context) {
    const state = context.state();
    return text(state === 'LIVE' ? 200 : 503, `${state}\n`);
  },
};
