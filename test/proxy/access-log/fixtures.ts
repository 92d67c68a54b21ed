// Entries shaped like the ones in Envoy's access log docs, shared by the access log tests.
import { NO_HEADERS, headerLookup } from '../../../src/proxy/access-log/index.js';
import type { AccessLogEntry } from '../../../src/proxy/access-log/index.js';

/** The request of Envoy's documented default-format example line. */
export function httpEntry(overrides: Partial<AccessLogEntry> = {}): AccessLogEntry {
  return {
    startTime: new Date('2016-04-15T20:17:00.310Z'),
    durationMs: 226.8,
    requestDurationMs: 3.2,
    responseDurationMs: 120,
    protocol: 'HTTP/2',
    requestHeaders: headerLookup(
      {
        'x-forwarded-for': '10.0.35.28',
        'user-agent': 'nsq2http',
        'x-request-id': 'cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2',
        'x-multi': ['first', 'second'],
        'x-empty': '',
      },
      { ':method': 'POST', ':path': '/api/v1/locations', ':authority': 'locations', ':scheme': 'https' },
    ),
    responseHeaders: headerLookup({ 'x-envoy-upstream-service-time': '100', 'content-type': 'application/json' }),
    responseTrailers: headerLookup({ 'grpc-status': '0' }),
    responseCode: 204,
    responseFlags: [],
    bytesReceived: 154,
    bytesSent: 0,
    upstreamHost: '10.0.2.1:80',
    upstreamCluster: 'locations',
    upstreamLocalAddress: '10.0.2.7:41234',
    downstreamRemoteAddress: '10.0.35.28:51000',
    downstreamLocalAddress: '10.0.0.5:443',
    requestedServerName: 'locations.example.com',
    routeName: 'default',
    downstreamPeerUriSan: ['spiffe://cluster.local/ns/default/sa/nsq', 'spiffe://other/sa'],
    downstreamLocalUriSan: 'spiffe://cluster.local/ns/default/sa/locations',
    downstreamTlsVersion: 'TLSv1.3',
    connectionId: 42,
    ...overrides,
  };
}

/** A TCP proxy connection: no protocol, no headers, response code 0. */
export function tcpEntry(overrides: Partial<AccessLogEntry> = {}): AccessLogEntry {
  return {
    startTime: new Date('2021-03-01T08:00:05.007Z'),
    durationMs: 5000,
    requestHeaders: NO_HEADERS,
    responseHeaders: NO_HEADERS,
    responseTrailers: NO_HEADERS,
    responseCode: 0,
    responseFlags: [],
    bytesReceived: 1023,
    bytesSent: 2087,
    upstreamHost: '10.0.0.2:443',
    upstreamCluster: 'outbound|443||db.example.com',
    downstreamRemoteAddress: '[2001:db8::1]:50312',
    downstreamLocalAddress: '[2001:db8::2]:15443',
    connectionId: 7,
    ...overrides,
  };
}
