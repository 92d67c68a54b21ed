import { HttpError, param, sendJson } from '../http.js';
import { PROXY_CONFIG_TYPES } from '../protocol.js';
import type { ProxyConfigType } from '../protocol.js';
import type { Handler } from './context.js';

function notProvided(what: string): HttpError {
  return new HttpError(501, 'ERR_NOT_IMPLEMENTED', `${what} is not available: this control plane serves no xDS`, 'start the control plane with xDS serving (isthmus controlplane) and connect proxies to it');
}

/** GET /v1/proxy-status: what the xDS server knows about connected proxies (istioctl proxy-status). */
export const handleProxyStatus: Handler = async (context, _req, res) => {
  const provider = context.providers().proxyStatus;
  if (!provider) throw notProvided('proxy status');
  sendJson(res, 200, await provider());
};

/** GET /v1/proxy-status/refused: proxies the xDS server turned away lately (another revision); [] when none. */
export const handleRefusedProxies: Handler = async (context, _req, res) => {
  const provider = context.providers().refusedProxies;
  sendJson(res, 200, provider ? await provider() : []);
};

/** GET /v1/proxy-config?proxy=ID&type=listeners|routes|clusters|endpoints|secret (istioctl proxy-config). */
export const handleProxyConfig: Handler = async (context, _req, res, query) => {
  const proxy = param(query, 'proxy');
  const type = param(query, 'type');
  if (!proxy) throw new HttpError(400, 'ERR_BAD_REQUEST', 'proxy is required', 'pass ?proxy=ID (isthmus proxy-status lists the connected proxies)');
  if (!type || !(PROXY_CONFIG_TYPES as readonly string[]).includes(type)) {
    throw new HttpError(400, 'ERR_BAD_REQUEST', `type must be one of ${PROXY_CONFIG_TYPES.join(', ')}`, 'pass ?type=listeners (or routes, clusters, endpoints, secret)');
  }
  const provider = context.providers().proxyConfig;
  if (!provider) throw notProvided('proxy config');
  const config = await provider({ proxy, type: type as ProxyConfigType });
  if (config === undefined) throw new HttpError(404, 'ERR_PROXY_NOT_FOUND', `proxy "${proxy}" is not connected`, 'isthmus proxy-status lists the connected proxies');
  sendJson(res, 200, config);
};
