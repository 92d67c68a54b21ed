import type { ConfigDump } from '../config-dump/build.js';
import { queryConfigDump } from '../config-dump/query.js';
import { text } from '../responses.js';
import type { AdminHandler } from '../types.js';

function isConfigDump(value: object): value is ConfigDump {
  const configs = (value as { configs?: unknown }).configs;
  return Array.isArray(configs) && configs.every((c) => c !== null && typeof c === 'object' && typeof (c as { '@type'?: unknown })['@type'] === 'string');
}

/** GET /config_dump: the current config as admin.v3.ConfigDump, secrets redacted. */
export const configDumpHandler: AdminHandler = {
  path: '/config_dump',
  help: 'dump current Envoy configs (experimental)',
  mutatesState: false,
  handle(request, context) {
    const dump = context.options.configDump();
    if (!isConfigDump(dump)) return text(500, 'the config dump is not an admin.v3.ConfigDump ({"configs": [{"@type": ...}]})\n');
    return queryConfigDump(dump, request.query);
  },
};
