import { createServer as createHttp1Server } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttp2Server } from 'node:http2';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HttpConnectionManager, Route, VirtualHost } from '../../envoy/index.js';
import { createAccessLoggers } from '../access-log/index.js';
import type { ConnectionInfo } from '../listener/connection-info.js';
import { ActiveStream } from '../http/active-stream.js';
import type { HttpFilter } from '../http/filter.js';
import type { HcmShared } from '../http/hcm-shared.js';
import { internalAddressMatcher } from '../http/internal-address.js';
import { normalizationOptions } from '../http/path-normalization.js';
import { requestLimits, socketClosing } from '../http/request-validation.js';
import { compileRetryPolicy } from '../http/retry.js';
import type { CompiledRetryPolicy } from '../http/retry.js';
import { RouteTable } from '../http/route-table.js';
import { readDataSource } from '../tls/data-source.js';
import { http1TimeoutChecks, http1TimeoutOptions, http2SessionSetup, http2Settings, hcmTimeouts, requestTimedOut } from './hcm-limits.js';
import { replayStream } from './replay-stream.js';
import type { NetworkFilter, NetworkFilterContext } from './types.js';

const ROUTER = 'envoy.filters.http.router';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n');
/** ALPN values that say which HTTP version follows; Istio's mesh-internal ones included. */
const H2_ALPN = new Set(['h2', 'istio-h2']);
const HTTP1_ALPN = new Set(['http/1.1', 'http/1.0', 'istio-http/1.1', 'istio-http/1.0']);
const CONNECTION_INFO = Symbol('isthmus.connectionInfo');

type TaggedSocket = Duplex & { [CONNECTION_INFO]?: ConnectionInfo };

async function compileHttpFilters(config: HttpConnectionManager, ctx: NetworkFilterContext): Promise<Array<() => HttpFilter>> {
  const filters = config.http_filters ?? [];
  const path = `${ctx.path}.http_filters`;
  if (filters.length === 0) throw new Error(`${path}: empty; the last HTTP filter must be ${ROUTER}`);
  const last = filters[filters.length - 1];
  if (last?.typed_config?.['@type'] !== ROUTER_TYPE) {
    throw new Error(`${path}[${filters.length - 1}]: the last HTTP filter must be ${ROUTER}, found "${last?.name}"`);
  }
  const factories: Array<() => HttpFilter> = [];
  for (const [i, filter] of filters.slice(0, -1).entries()) {
    if (filter.disabled) continue;
    const typeUrl = filter.typed_config?.['@type'] ?? '';
    if (typeUrl === ROUTER_TYPE) throw new Error(`${path}[${i}]: ${ROUTER} must be the last HTTP filter`);
    const factory = ctx.httpFilters.get(typeUrl);
    if (!factory) {
      if (filter.is_optional) continue;
      throw new Error(`${path}[${i}]: unsupported HTTP filter "${filter.name}" (${typeUrl})`);
    }
    const { '@type': _t, ...typed } = filter.typed_config ?? { '@type': '' };
    const result = await factory.create(typed, { baseDir: ctx.baseDir, stats: ctx.stats, statPrefix: `http.${config.stat_prefix}.` });
    if (!result.valid) throw new Error(result.errors.map((e) => `${path}[${i}].typed_config.${e.path}: ${e.message}`).join('\n'));
    factories.push(result.createFilter);
  }
  return factories;
}

/**
 * envoy.filters.network.http_connection_manager: HTTP/1.1 and HTTP/2 (ALPN h2, or h2c by the
 * connection preface with codec AUTO) on the connection, each request run as an ActiveStream.
 */
export async function createHttpConnectionManager(config: HttpConnectionManager, ctx: NetworkFilterContext): Promise<NetworkFilter> {
  if (config.rds && !ctx.routes) throw new Error(`${ctx.path}.rds: RDS needs a control plane (dynamic_resources / --xds); use an inline route_config`);
  if (config.rds && config.route_config) throw new Error(`${ctx.path}: only one of route_config and rds may be set`);
  const routeConfig = config.route_config ?? { name: config.rds?.route_config_name ?? '' };
  const duplicate = RouteTable.duplicateDomain(routeConfig);
  if (duplicate) throw new Error(`${ctx.path}.route_config: domain "${duplicate}" appears in more than one virtual host`);
  const filterFactories = await compileHttpFilters(config, ctx);
  const prefix = `http.${config.stat_prefix}.`;
  const stats = ctx.stats;
  const retryCache = new WeakMap<Route, CompiledRetryPolicy | undefined>();
  const byClass = new Map<string, ReturnType<typeof stats.counter>>();
  const limits = requestLimits(config, ctx.path);
  const shared: HcmShared = {
    config,
    routeTable: new RouteTable(routeConfig),
    routeConfig,
    pathNormalization: normalizationOptions(config),
    requestLimits: limits,
    isInternal: internalAddressMatcher(config.internal_address_config, ctx.path),
    filterFactories,
    clusters: ctx.clusters,
    accessLoggers: createAccessLoggers(config.access_log, ctx.baseDir),
    ...(ctx.logger ? { logger: ctx.logger } : {}),
    ...(ctx.trace ? { trace: ctx.trace } : {}),
    stats: {
      rqTotal: stats.counter(`${prefix}downstream_rq_total`),
      rqActive: stats.gauge(`${prefix}downstream_rq_active`),
      rqHttp1: stats.counter(`${prefix}downstream_rq_http1_total`),
      rqHttp2: stats.counter(`${prefix}downstream_rq_http2_total`),
      // Per request: the counter is looked up once per class, not by building its name each time.
      rqByClass: (cls) => {
        let counter = byClass.get(cls);
        if (!counter) byClass.set(cls, (counter = stats.counter(`${prefix}downstream_rq_${cls}`)));
        return counter;
      },
    },
    clusterStat: (cluster, name) => stats.counter(`cluster.${cluster}.${name}`),
    retryPolicy(route: Route, vh: VirtualHost) {
      if (!retryCache.has(route)) retryCache.set(route, compileRetryPolicy(route.route?.retry_policy ?? vh.retry_policy));
      return retryCache.get(route);
    },
    directResponseBody: (source) => readDataSource(source, ctx.baseDir, 'direct_response.body'),
  };

  // RDS: until the route configuration arrives every request gets 404 (NR), as in Envoy.
  const unwatch = config.rds && ctx.routes
    ? ctx.routes.watch(config.rds.route_config_name, (rc) => {
      if (RouteTable.duplicateDomain(rc)) return; // rejected when applied; keep the last good table
      shared.routeTable = new RouteTable(rc);
      shared.routeConfig = rc;
    })
    : undefined;
  const cxTotal = stats.counter(`${prefix}downstream_cx_total`);
  const cxActive = stats.gauge(`${prefix}downstream_cx_active`);
  const cxHttp1 = stats.counter(`${prefix}downstream_cx_http1_total`);
  const cxHttp2 = stats.counter(`${prefix}downstream_cx_http2_total`);
  const timeouts = hcmTimeouts(config);
  const setupHttp2Session = http2SessionSetup(config, stats, prefix, timeouts);
  const requestTimeouts = stats.counter(`${prefix}downstream_rq_timeout`);
  // HTTP/2 sessions wrap their socket, so their connection info is kept by session.
  const sessionInfo = new WeakMap<object, ConnectionInfo>();
  let connecting: ConnectionInfo | undefined;
  const onRequest = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    const info = req.httpVersion === '2.0' ? sessionInfo.get((req as Http2ServerRequest).stream.session as object) : (req.socket as TaggedSocket)[CONNECTION_INFO];
    if (!info) return void res.destroy();
    void new ActiveStream(shared, req, res, info).run();
  };

  const http1 = createHttp1Server({
    maxHeaderSize: limits.maxHeadersBytes,
    // Never lenient, even under NODE_OPTIONS=--insecure-http-parser: bare CR/LF, obs-fold and the like stay 400.
    insecureHTTPParser: false,
    ...http1TimeoutOptions(timeouts),
    requireHostHeader: false,
    joinDuplicateHeaders: false,
  }, onRequest);
  // One over the limit, so a request past it is seen (and answered 431) rather than cut short by Node.
  http1.maxHeadersCount = limits.maxHeadersCount + 1;
  const trackHttp1 = http1TimeoutChecks(http1);
  http1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Bytes after a request that ends the connection (a refused one, or connection: close): the
    // response on its way closes the connection; a second answer would interleave with it.
    if (err.code === 'HPE_CLOSED_CONNECTION' || socketClosing(socket)) return;
    // request_timeout / request_headers_timeout (node's checks) end the connection with 408, as Envoy.
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return void requestTimedOut(socket, requestTimeouts);
    const code = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    if ((socket as Socket).writable) socket.end(`HTTP/1.1 ${code} ${code === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    else socket.destroy();
  });
  const http2 = createHttp2Server({
    // Room for the pseudo-headers and one more, so the stream checks the limit and answers 431.
    maxHeaderListPairs: limits.maxHeadersCount + 8,
    maxSessionMemory: 64,
    settings: {
      ...http2Settings(config),
      maxHeaderListSize: limits.maxHeadersBytes,
    },
  }, onRequest);
  // 'session' is emitted synchronously while the server takes the connection.
  http2.on('session', (session) => {
    if (connecting) sessionInfo.set(session, connecting);
    setupHttp2Session(session);
  });

  const dispatch = (socket: TaggedSocket, h2: boolean) => {
    cxTotal.inc();
    cxActive.inc();
    (h2 ? cxHttp2 : cxHttp1).inc();
    socket.once('close', () => cxActive.dec());
    if (!h2) {
      trackHttp1(socket);
      return void http1.emit('connection', socket);
    }
    connecting = socket[CONNECTION_INFO];
    http2.emit('connection', socket);
    connecting = undefined;
  };

  return {
    kind: 'terminal',
    routeConfig,
    handle(socket: Duplex, info: ConnectionInfo) {
      const tagged = socket as TaggedSocket;
      tagged[CONNECTION_INFO] = info;
      const codec = config.codec_type ?? 'AUTO';
      if (codec !== 'AUTO') return dispatch(tagged, codec === 'HTTP2');
      const alpn = info.negotiatedAlpn;
      if (alpn !== undefined && H2_ALPN.has(alpn)) return dispatch(tagged, true);
      if (alpn !== undefined && HTTP1_ALPN.has(alpn)) return dispatch(tagged, false);
      // No ALPN, or one that does not name the HTTP version (Istio's "istio", "istio-peer-exchange"):
      // tell HTTP/2 prior knowledge (h2c) from HTTP/1.1 by the first bytes, then replay them.
      let seen = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        seen = Buffer.concat([seen, chunk]);
        const n = Math.min(seen.length, H2_PREFACE.length);
        const isH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
        if (isH2 && seen.length < H2_PREFACE.length) return;
        socket.off('data', onData);
        socket.pause();
        if (isH2) {
          const replay = replayStream(socket, seen) as TaggedSocket;
          replay[CONNECTION_INFO] = info;
          return dispatch(replay, true);
        }
        socket.unshift(seen);
        dispatch(tagged, false);
        socket.resume();
      };
      socket.on('data', onData);
    },
    async close() {
      unwatch?.();
      http1.closeAllConnections?.();
      await Promise.all(shared.accessLoggers.map((l) => l.close()));
    },
  };
}
