import { json } from '../responses.js';
import type { AdminHandler } from '../types.js';

/**
 * GET /server_info: Envoy's ServerInfo message. The owner supplies version, node and command line
 * options; state always comes from the admin server so /healthcheck/fail shows as DRAINING.
 */
export const serverInfoHandler: AdminHandler = {
  path: '/server_info',
  help: 'print server version/status information',
  mutatesState: false,
  handle(_request, context) {
    const info = { ...context.options.serverInfo() } as Record<string, unknown>;
    const uptime = `${Math.max(0, Math.floor((Date.now() - context.startedAt.getTime()) / 1000))}s`;
    const { version, hot_restart_version, command_line_options, node, uptime_current_epoch, uptime_all_epochs, ...rest } = info;
    delete rest.state;
    return json(200, {
      version: version ?? 'isthmus',
      state: context.state(),
      hot_restart_version: hot_restart_version ?? 'disabled',
      command_line_options: command_line_options ?? {},
      node: node ?? {},
      uptime_current_epoch: uptime_current_epoch ?? uptime,
      uptime_all_epochs: uptime_all_epochs ?? uptime,
      ...rest,
    });
  },
};
