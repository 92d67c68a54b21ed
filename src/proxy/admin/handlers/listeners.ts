import { socketAddressJson } from '../address.js';
import { json, text, wantsJson } from '../responses.js';
import type { AdminHandler } from '../types.js';

/** GET /listeners: "name::ip:port" lines, or Envoy's admin.v3.Listeners with ?format=json. */
export const listenersHandler: AdminHandler = {
  path: '/listeners',
  help: 'print listener info',
  mutatesState: false,
  handle(request, context) {
    const listeners = context.options.listeners();
    if (wantsJson(request.query)) {
      return json(200, { listener_statuses: listeners.map((l) => ({ name: l.name, local_address: socketAddressJson(l.address) })) });
    }
    return text(200, listeners.map((l) => `${l.name}::${l.address}\n`).join(''));
  },
};
