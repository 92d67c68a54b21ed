import type { HeaderValueOption } from '../../envoy/index.js';
import type { HeaderMap } from './filter.js';

/** Connection-specific headers never forwarded (RFC 9110 7.6.1), plus HTTP/2 pseudo-headers. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'http2-settings', 'host']);

/** Copies headers for forwarding, dropping hop-by-hop ones and those the Connection header names. */
export function forwardableHeaders(headers: Record<string, string | string[] | undefined>, keepTeTrailers: boolean): HeaderMap {
  const out: HeaderMap = {};
  const connection = headers.connection;
  const named = typeof connection === 'string' ? new Set(connection.toLowerCase().split(',').map((s) => s.trim())) : undefined;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name.charCodeAt(0) === 58 /* ':' */) continue;
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    out[name] = value;
  }
  // gRPC needs "te: trailers" end to end; it is the one TE value that may cross a proxy.
  if (keepTeTrailers && headers.te === 'trailers') out.te = 'trailers';
  return out;
}

/**
 * Applies Envoy's HeaderValueOption list: append (default true: add another value), or the
 * append_action variants; then removals. Returns nothing: the map is changed in place.
 */
export function applyHeaderMutations(headers: HeaderMap, add: HeaderValueOption[] | undefined, remove: string[] | undefined, vars: (name: string) => string | undefined): void {
  if (remove) for (const name of remove) delete headers[name.toLowerCase()];
  if (add === undefined) return; // the common case, per request and level: nothing to do, nothing allocated
  for (const option of add) {
    const key = option.header.key.toLowerCase();
    const value = substitute(option.header.value ?? '', vars);
    if (value === '' && !option.keep_empty_value) continue;
    const action = option.append_action ?? (option.append === false ? 'OVERWRITE_IF_EXISTS_OR_ADD' : 'APPEND_IF_EXISTS_OR_ADD');
    const existing = headers[key];
    switch (action) {
      case 'APPEND_IF_EXISTS_OR_ADD':
        headers[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
        break;
      case 'ADD_IF_ABSENT':
        if (existing === undefined) headers[key] = value;
        break;
      case 'OVERWRITE_IF_EXISTS_OR_ADD':
        headers[key] = value;
        break;
      case 'OVERWRITE_IF_EXISTS':
        if (existing !== undefined) headers[key] = value;
        break;
    }
  }
}

/** Header values may use %DOWNSTREAM_REMOTE_ADDRESS% style variables, as in Envoy. */
function substitute(value: string, vars: (name: string) => string | undefined): string {
  if (!value.includes('%')) return value;
  return value.replace(/%([A-Z_]+)%/g, (whole, name: string) => vars(name) ?? whole);
}

export function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
