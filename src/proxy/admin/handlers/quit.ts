import { text } from '../responses.js';
import type { AdminHandler } from '../types.js';

/** POST /quitquitquit: answer first, then ask the owner to exit cleanly. */
export const quitHandler: AdminHandler = {
  path: '/quitquitquit',
  help: 'exit the server',
  mutatesState: true,
  handle(_request, context) {
    const onQuit = context.options.onQuit;
    return { ...text(200, 'OK\n'), ...(onQuit ? { afterSend: () => onQuit() } : {}) };
  },
};
