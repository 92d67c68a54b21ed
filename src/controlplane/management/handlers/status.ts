import { sendJson } from '../http.js';
import type { StatusResponse } from '../protocol.js';
import type { Handler } from './context.js';

/** GET /v1/status: revision, snapshot version and current problems of the store's sources. */
export const handleStatus: Handler = async (context, _req, res) => {
  const addresses = context.providers().addresses?.();
  const body: StatusResponse = {
    revision: context.store.revision(),
    snapshotVersion: context.store.snapshot().version,
    resources: context.store.get().length,
    problems: context.store.problems(),
    ...(addresses?.xds ? { xdsAddress: addresses.xds } : {}),
    ...(addresses?.xdsTls ? { xdsTlsAddress: addresses.xdsTls } : {}),
    ...(addresses?.ca ? { caAddress: addresses.ca } : {}),
  };
  sendJson(res, 200, body);
};
