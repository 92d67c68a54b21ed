export { DnsProxyServer } from './server.js';
export type { DnsBindAddress, DnsNameTable, DnsServerOptions, DnsServerStats } from './server.js';
export { nameTableFromListeners, dnsCaptureOf, DNS_METADATA_KEY } from './table.js';
export { forwardQuery, parseResolver, systemResolvers } from './upstream.js';
export type { UpstreamResolver } from './upstream.js';
export { encodeQuery, decodeAnswer, parseQuery, buildAnswer, TYPE_A, TYPE_AAAA, RCODE } from './wire.js';
export type { DecodedAnswer, DnsQuery } from './wire.js';
