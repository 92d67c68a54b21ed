export { ProxyServer, ISTHMUS_VERSION } from './server.js';
export type { ProxyOptions } from './server.js';
export { StatsStore } from './stats.js';
export { parseClientHello } from './listener/tls-inspector.js';
export { selectFilterChain } from './listener/filter-chain-match.js';
export { RouteTable } from './http/route-table.js';
