import type { IncomingMessage, ServerResponse } from 'node:http';
import { headerLookup } from '../access-log/index.js';
import type { AccessLogEntry } from '../access-log/index.js';

const PROTOCOLS: Record<string, AccessLogEntry['protocol']> = { '1.0': 'HTTP/1.0', '1.1': 'HTTP/1.1', '2.0': 'HTTP/2' };

const hostPort = (address: string | undefined, port: number | undefined): string =>
  address === undefined ? '' : `${address.includes(':') ? `[${address}]` : address}:${port ?? 0}`;

/** The access log entry of one admin request (Envoy logs admin requests with admin.access_log). */
export function adminLogEntry(
  req: IncomingMessage,
  res: ServerResponse,
  facts: { startTime: Date; durationMs: number; bytesReceived: number; bytesSent: number; connectionId: number },
): AccessLogEntry {
  const responseHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.getHeaders())) {
    if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? (value[0] ?? '') : String(value);
  }
  return {
    startTime: facts.startTime,
    durationMs: facts.durationMs,
    protocol: PROTOCOLS[req.httpVersion] ?? 'HTTP/1.1',
    requestHeaders: headerLookup(req.headers, { ':method': req.method, ':path': req.url, ':scheme': 'http' }),
    responseHeaders: headerLookup(responseHeaders),
    responseTrailers: () => undefined,
    responseCode: res.statusCode,
    responseCodeDetails: 'admin_filter_response',
    responseFlags: [],
    bytesReceived: facts.bytesReceived,
    bytesSent: facts.bytesSent,
    downstreamRemoteAddress: hostPort(req.socket.remoteAddress, req.socket.remotePort),
    downstreamLocalAddress: hostPort(req.socket.localAddress, req.socket.localPort),
    connectionId: facts.connectionId,
  };
}
