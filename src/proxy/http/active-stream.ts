import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { Readable, Transform } from 'node:stream';
import { durationMs } from '../../envoy/index.js';
import type { Route, RouteAction } from '../../envoy/index.js';
import type { UpstreamHost, UpstreamResponse } from '../upstream/index.js';
import { UpstreamError } from '../upstream/index.js';
import type { HcmShared } from './hcm-shared.js';
import type { ConnectionInfo } from '../listener/connection-info.js';
import type { HeaderMap, HttpFilter, LocalReply, RequestHead, ResponseHead, StreamInfo } from './filter.js';
import { DownstreamReset } from './downstream-reset.js';
import { applyHeaderMutations, firstValue, forwardableHeaders } from './headers.js';
import { renderLocalReply } from './local-reply.js';
import { normalizeRequestPath } from './path-normalization.js';
import { pipeBody } from './pipe-body.js';
import { regexRewritePath } from './regex-rewrite.js';
import { parseAbsoluteTarget } from './request-target.js';
import { closeAfterResponse, connectionClosing, validAuthority, validateRequest } from './request-validation.js';
import type { Rejection } from './request-validation.js';
import { forwardClientCert } from './xfcc.js';
import { backOffMs } from './retry.js';
import type { MatchedRoute } from './route-table.js';
import { statusClass } from '../stats.js';
import type { TlsDetails } from '../trace/index.js';
import { TRACE_HEADER } from '../trace/index.js';

type DownstreamRequest = IncomingMessage | Http2ServerRequest;
type DownstreamResponse = ServerResponse | Http2ServerResponse;

const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
/** Bodies up to this size are buffered so that a retry can replay them (Envoy's default buffer limit). */
const RETRY_BUFFER_LIMIT = 1024 * 1024;
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);

const REDIRECT_CODES: Record<string, number> = {
  MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308,
};

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * One HTTP request/response through the connection manager: HCM header processing, decoder filters,
 * route match, the router's upstream request (timeouts, retries, rewrites, header mutations), encoder
 * filters, local replies, stats and the access log.
 */
export class ActiveStream implements StreamInfo {
  bufferRequestBody = false;
  bufferResponseBody = false;
  readonly downstreamProtocol: 'HTTP/1.1' | 'HTTP/2' | 'HTTP/1.0';

  /** Epoch ms; the access log's Date is made only when there is an access log. */
  private readonly startMs = Date.now();
  private readonly startNs = process.hrtime.bigint();
  private readonly head: RequestHead;
  private readonly originalHeaders: HeaderMap;
  private readonly filters: HttpFilter[];
  private grpc: boolean;
  private routeCache: MatchedRoute | undefined | null = null;
  private responseFlags: string[] = [];
  private responseCodeDetails = '';
  private upstreamHost: UpstreamHost | undefined;
  private upstreamCluster: string | undefined;
  private upstreamFailureReason: string | undefined;
  private upstreamFailureTls: TlsDetails | undefined;
  private responseHeaders: HeaderMap = {};
  private responseTrailers: HeaderMap = {};
  private status = 0;
  private bytesReceived = 0;
  private bytesSent = 0;
  private responseStartNs: bigint | undefined;
  private readonly absolutePathRejected: boolean;
  /** use_remote_address and a peer outside internal_address_config: its internal headers are not trusted. */
  private readonly external: boolean;

  constructor(
    private readonly shared: HcmShared,
    private readonly req: DownstreamRequest,
    private readonly res: DownstreamResponse,
    private readonly conn: ConnectionInfo,
  ) {
    this.downstreamProtocol = req.httpVersion === '2.0' ? 'HTTP/2' : req.httpVersion === '1.0' ? 'HTTP/1.0' : 'HTTP/1.1';
    const raw = req.headers as Record<string, string | string[] | undefined>;
    const headers = forwardableHeaders(raw, true);
    // Before anything reads them (filters, the access log, the trace): internal headers from an
    // untrusted peer are dropped (CVE-2023-27487, CVE-2024-45806), XFCC is what the config says.
    this.external = shared.config.use_remote_address === true && !shared.isInternal(conn.remoteAddress);
    if (this.external) removeInternalHeaders(headers, shared.routeConfig.internal_only_headers);
    forwardClientCert(headers, shared.config, conn);
    // Filters may change the request headers; the access log still reads them as received. Without
    // filters nothing but the connection manager's own headers change, so no copy is kept.
    this.filters = shared.filterFactories.map((create) => create());
    this.originalHeaders = this.filters.length > 0 ? { ...headers } : headers;
    // An absolute-form target (a client using us as its HTTP proxy) names the authority; it goes upstream in origin form.
    const absolute = this.downstreamProtocol === 'HTTP/2' ? undefined : parseAbsoluteTarget(req.url);
    this.absolutePathRejected = absolute !== undefined && shared.config.http_protocol_options?.allow_absolute_url === false;
    const target = this.absolutePathRejected ? undefined : absolute;
    this.head = {
      method: req.method ?? 'GET',
      path: target?.path ?? req.url ?? '/',
      authority: target?.authority ?? firstValue(raw[':authority']) ?? firstValue(raw.host) ?? '',
      scheme: target?.scheme ?? (conn.tls ? 'https' : 'http'),
      headers,
    };
    this.grpc = (firstValue(headers['content-type']) ?? '').startsWith('application/grpc');
  }

  private filterStateMap: Map<string, unknown> | undefined;

  /** Per-stream state filters share (RBAC's decision, for the access log); made on first use. */
  get filterState(): Map<string, unknown> {
    return (this.filterStateMap ??= new Map());
  }

  /** The request body as the upstream reads it, counting bytes for the access log on the way. */
  private countedBody(): Readable {
    const counter = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.bytesReceived += chunk.length;
        callback(null, chunk);
      },
    });
    this.req.on('error', (err) => counter.destroy(err));
    return (this.req as Readable).pipe(counter);
  }

  get connection(): ConnectionInfo {
    return this.conn;
  }

  /** Envoy's rule: with use_remote_address the peer (after xff_num_trusted_hops), else the x-forwarded-for entry. */
  get downstreamRemoteAddress(): string {
    const config = this.shared.config;
    const hops = config.xff_num_trusted_hops ?? 0;
    if (config.use_remote_address && hops === 0) return this.conn.remoteAddress;
    const xff = this.head.headers['x-forwarded-for'];
    const entries = (Array.isArray(xff) ? xff.join(',') : xff ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '');
    // With use_remote_address this proxy appended the peer (unless skip_xff_append): the hops count from before it.
    const appended = config.use_remote_address === true && config.skip_xff_append !== true;
    const index = entries.length - 1 - hops + (config.use_remote_address === true && !appended ? 1 : 0);
    return entries[index] ?? this.conn.remoteAddress;
  }

  clearRouteCache(): void {
    this.routeCache = null;
  }

  private route(): MatchedRoute | undefined {
    if (this.routeCache === null) this.routeCache = this.shared.routeTable.match(this.head, this.shared.config.strip_any_host_port === true || this.shared.routeConfig.ignore_port_in_host_matching === true);
    return this.routeCache;
  }

  async run(): Promise<void> {
    // Parsed behind a request that ends the connection: never run (Envoy stops reading there).
    if (connectionClosing(this.req)) return;
    const stats = this.shared.stats;
    stats.rqTotal.inc();
    stats.rqActive.inc();
    (this.downstreamProtocol === 'HTTP/2' ? stats.rqHttp2 : stats.rqHttp1).inc();
    this.res.on('close', () => this.complete());
    try {
      const invalid = validateRequest(this.req, this.downstreamProtocol === 'HTTP/2', this.shared.requestLimits)
        ?? (this.head.authority && !validAuthority(this.head.authority) ? { status: 400, details: 'invalid_authority' } as const : undefined);
      if (invalid) return this.refuse(invalid);
      // Envoy with allow_absolute_url false: the path does not start with "/", 404 absolute_path_rejected.
      if (this.absolutePathRejected) return this.localReply({ status: 404 }, 'absolute_path_rejected');
      if (!this.head.authority) return this.localReply({ status: 400, body: 'missing host header', responseFlag: 'DPE' }, 'missing_host_header');
      // Before any filter or the route sees the path: what RBAC authorizes is what goes upstream.
      const sanitized = normalizeRequestPath(this.head.path, this.shared.pathNormalization);
      if (sanitized.kind === 'reject') return this.localReply({ status: 400, responseFlag: 'DPE' }, sanitized.details);
      if (sanitized.kind === 'redirect') return this.localReply({ status: 307, headers: { location: sanitized.path } }, 'path_normalization_redirect');
      this.head.path = sanitized.path;
      this.processRequestHeaders();
      for (const filter of this.filters) {
        const reply = await filter.decodeHeaders?.(this.head, this);
        if (reply) return this.localReply(reply, reply.details ?? 'filter_local_reply');
      }
      let body: Buffer | undefined;
      if (this.bufferRequestBody) {
        body = await readAll(this.req);
        this.bytesReceived = body.length;
        for (const filter of this.filters) {
          if (!filter.decodeBody) continue;
          const out = await filter.decodeBody(body, this.head, this);
          if (!Buffer.isBuffer(out)) return this.localReply(out, out.details ?? 'filter_local_reply');
          body = out;
        }
        this.grpc = (firstValue(this.head.headers['content-type']) ?? '').startsWith('application/grpc');
      }
      await this.routeRequest(body);
    } catch (err) {
      this.shared.logger?.warn({ err, path: this.head.path }, 'request failed');
      if (!this.res.headersSent) await this.localReply({ status: 500, body: 'internal error' }, 'internal_error');
      else this.res.destroy();
    }
  }

  /** A request the codec would not accept: answered here; on HTTP/1 the connection closes after it. */
  private refuse(rejection: Rejection): Promise<void> {
    if (this.downstreamProtocol === 'HTTP/2') return this.localReply({ status: rejection.status, responseFlag: 'DPE' }, rejection.details);
    closeAfterResponse(this.req);
    return this.localReply({ status: rejection.status, responseFlag: 'DPE', headers: { connection: 'close' } }, rejection.details);
  }

  /** HCM's own header work: x-forwarded-for, x-forwarded-proto, x-request-id (Envoy's semantics). */
  private processRequestHeaders(): void {
    const h = this.head.headers;
    const config = this.shared.config;
    if (config.use_remote_address && !config.skip_xff_append) {
      const remote = this.conn.remoteAddress;
      const xff = firstValue(h['x-forwarded-for']);
      h['x-forwarded-for'] = xff ? `${xff}, ${remote}` : remote;
    }
    // Edge requests (use_remote_address) are external: their x-forwarded-proto is not trusted.
    if (config.use_remote_address || h['x-forwarded-proto'] === undefined) h['x-forwarded-proto'] = this.head.scheme;
    if (config.generate_request_id !== false) {
      if (h['x-request-id'] === undefined || (this.external && !config.preserve_external_request_id)) h['x-request-id'] = randomUUID();
    }
  }

  private async routeRequest(bufferedBody: Buffer | undefined): Promise<void> {
    const matched = this.route();
    if (!matched) return this.localReply({ status: 404, responseFlag: 'NR' }, 'route_not_found');
    const { route, virtualHost } = matched;
    if (route.direct_response) {
      const body = route.direct_response.body ? this.shared.directResponseBody(route.direct_response.body) : undefined;
      return this.localReply({ status: route.direct_response.status, ...(body !== undefined ? { body } : {}) }, 'direct_response', route);
    }
    if (route.redirect) return this.redirect(route, matched.matchedPrefix);
    const action = route.route as RouteAction;
    const clusterName = this.pickCluster(action);
    this.upstreamCluster = clusterName;
    const cluster = clusterName ? this.shared.clusters.get(clusterName) : undefined;
    if (!cluster) {
      const code = action.cluster_not_found_response_code === 'NOT_FOUND' ? 404 : action.cluster_not_found_response_code === 'INTERNAL_SERVER_ERROR' ? 500 : 503;
      return this.localReply({ status: code, responseFlag: 'NC' }, 'cluster_not_found');
    }
    const upstreamHeaders = { ...this.head.headers };
    let path = this.head.path;
    if (action.prefix_rewrite !== undefined && matched.matchedPrefix !== undefined) {
      path = action.prefix_rewrite + path.slice(matched.matchedPrefix.length);
    } else if (action.regex_rewrite) {
      path = regexRewritePath(path, action.regex_rewrite);
    }
    if (path !== this.head.path && upstreamHeaders['x-envoy-original-path'] === undefined) upstreamHeaders['x-envoy-original-path'] = this.head.path;
    let authority = action.host_rewrite_literal ?? this.head.authority;
    const vars = (name: string) => this.variable(name);
    const weighted = action.weighted_clusters?.clusters.find((c) => c.name === clusterName);
    applyHeaderMutations(upstreamHeaders, weighted?.request_headers_to_add, weighted?.request_headers_to_remove, vars);
    applyHeaderMutations(upstreamHeaders, route.request_headers_to_add, route.request_headers_to_remove, vars);
    applyHeaderMutations(upstreamHeaders, virtualHost.request_headers_to_add, virtualHost.request_headers_to_remove, vars);
    applyHeaderMutations(upstreamHeaders, this.shared.routeConfig.request_headers_to_add, this.shared.routeConfig.request_headers_to_remove, vars);

    const routeTimeout = durationMs(action.timeout) ?? DEFAULT_ROUTE_TIMEOUT_MS;
    const retry = this.shared.retryPolicy(route, virtualHost);
    if (routeTimeout > 0) upstreamHeaders['x-envoy-expected-rq-timeout-ms'] = String(retry?.perTryTimeoutMs ?? routeTimeout);

    // A body is replayable for retries when it is already buffered or small enough to buffer.
    let body: Buffer | Readable | null = bufferedBody ?? null;
    if (!bufferedBody && this.hasRequestBody()) {
      const length = Number(firstValue(this.req.headers['content-length']));
      body = retry && Number.isFinite(length) && length <= RETRY_BUFFER_LIMIT ? await readAll(this.req) : this.countedBody();
      if (Buffer.isBuffer(body)) this.bytesReceived = body.length;
    }
    if (Buffer.isBuffer(body)) {
      upstreamHeaders['content-length'] = String(body.length);
      delete upstreamHeaders['transfer-encoding'];
    }
    const deadline = routeTimeout > 0 ? Date.now() + routeTimeout : Infinity;
    const canRetry = retry !== undefined && !(body instanceof Readable);
    // Hosts already tried, for retries to prefer others (made only when a retry can happen).
    const tried = canRetry ? new Set<UpstreamHost>() : undefined;
    for (let attempt = 0; ; attempt++) {
      const host = cluster.chooseHost(tried);
      if (!host) return this.localReply({ status: 503, body: 'no healthy upstream', responseFlag: 'UH' }, 'no_healthy_upstream');
      tried?.add(host);
      if (action.auto_host_rewrite && host.hostname) authority = host.hostname;
      this.upstreamHost = host;
      const remaining = deadline - Date.now();
      const timeoutMs = Math.min(remaining, retry?.perTryTimeoutMs ?? Infinity);
      const startNs = process.hrtime.bigint();
      let response: UpstreamResponse;
      try {
        response = await cluster.httpRequest({
          method: this.head.method,
          path,
          authority,
          headers: upstreamHeaders,
          body,
          ...(Number.isFinite(timeoutMs) ? { timeoutMs: Math.max(1, timeoutMs) } : {}),
          signal: this.downstreamReset,
        }, host);
      } catch (err) {
        const failure = err instanceof UpstreamError ? err : new UpstreamError('UR', String(err));
        const kind = failure.flag === 'UF' ? 'connect-failure' : 'reset';
        if (canRetry && attempt < retry.numRetries && failure.flag !== 'UT' && failure.flag !== 'UO' && retry.retriableFailure(kind) && Date.now() < deadline) {
          this.shared.clusterStat(cluster.name, 'upstream_rq_retry').inc();
          await sleep(backOffMs(retry, attempt));
          continue;
        }
        return this.upstreamFailure(failure, Date.now() >= deadline);
      }
      if (canRetry && attempt < retry.numRetries && retry.retriableStatus(response.status, response.headers) && Date.now() < deadline) {
        response.body.resume();
        this.shared.clusterStat(cluster.name, 'upstream_rq_retry').inc();
        await sleep(backOffMs(retry, attempt));
        continue;
      }
      const serviceTimeMs = Number((process.hrtime.bigint() - startNs) / 1_000_000n);
      return this.forwardResponse(response, route, virtualHost, serviceTimeMs);
    }
  }

  private hasRequestBody(): boolean {
    const h = this.req.headers;
    if (this.downstreamProtocol === 'HTTP/2') return !(this.req as Http2ServerRequest).stream.endAfterHeaders;
    if (h['transfer-encoding'] !== undefined) return true;
    const length = Number(h['content-length'] ?? 0);
    return length > 0 || (!BODYLESS_METHODS.has(this.head.method) && h['content-length'] !== undefined && length > 0);
  }

  private pickCluster(action: RouteAction): string | undefined {
    if (action.cluster !== undefined) return action.cluster;
    if (action.cluster_header !== undefined) return firstValue(this.head.headers[action.cluster_header.toLowerCase()]);
    const clusters = action.weighted_clusters?.clusters ?? [];
    const total = clusters.reduce((sum, c) => sum + (c.weight ?? 0), 0);
    let pick = Math.random() * total;
    for (const c of clusters) {
      pick -= c.weight ?? 0;
      if (pick < 0) return c.name;
    }
    return clusters[clusters.length - 1]?.name;
  }

  private redirect(route: Route, matchedPrefix: string | undefined): Promise<void> {
    const r = route.redirect ?? {};
    const q = this.head.path.indexOf('?');
    let pathOnly = q === -1 ? this.head.path : this.head.path.slice(0, q);
    let query = q === -1 ? '' : this.head.path.slice(q);
    if (r.path_redirect !== undefined) {
      pathOnly = r.path_redirect.split('?')[0] as string;
      if (r.path_redirect.includes('?')) query = r.path_redirect.slice(r.path_redirect.indexOf('?'));
    } else if (r.prefix_rewrite !== undefined && matchedPrefix !== undefined) pathOnly = r.prefix_rewrite + pathOnly.slice(matchedPrefix.length);
    if (r.strip_query) query = '';
    const scheme = r.https_redirect ? 'https' : (r.scheme_redirect ?? this.head.scheme);
    let host = r.host_redirect ?? this.head.authority;
    if (r.port_redirect !== undefined) host = `${host.replace(/:\d+$/, '')}:${r.port_redirect}`;
    else if (r.https_redirect || r.scheme_redirect) host = host.replace(/:\d+$/, '');
    const location = `${scheme}://${host}${pathOnly}${query}`;
    return this.localReply({ status: REDIRECT_CODES[r.response_code ?? 'MOVED_PERMANENTLY'] ?? 301, headers: { location } }, 'redirect', route);
  }

  private upstreamFailure(err: UpstreamError, timedOut: boolean): Promise<void> {
    this.shared.logger?.debug({ flag: err.flag, message: err.message }, 'upstream failure');
    this.upstreamFailureReason = err.message;
    this.upstreamFailureTls = err.tls;
    if (err.flag === 'UT' || timedOut) {
      return this.localReply({ status: 504, body: 'upstream request timeout', responseFlag: 'UT' }, 'upstream_response_timeout');
    }
    if (err.flag === 'UO') return this.localReply({ status: 503, body: 'upstream connect error or disconnect/reset before headers. reset reason: overflow', responseFlag: 'UO' }, 'upstream_reset_before_response_started{overflow}');
    if (err.flag === 'UH') return this.localReply({ status: 503, body: 'no healthy upstream', responseFlag: 'UH' }, 'no_healthy_upstream');
    const reason = err.flag === 'UF' ? 'connection failure' : 'connection termination';
    return this.localReply({ status: 503, body: `upstream connect error or disconnect/reset before headers. reset reason: ${reason}`, responseFlag: err.flag }, `upstream_reset_before_response_started{${reason.replace(' ', '_')}}`);
  }

  private async forwardResponse(response: UpstreamResponse, route: Route, vh: MatchedRoute['virtualHost'], serviceTimeMs: number): Promise<void> {
    const head: ResponseHead = { status: response.status, headers: forwardableHeaders(response.headers as Record<string, string>, false) };
    head.headers['x-envoy-upstream-service-time'] = String(serviceTimeMs);
    this.applyServerHeader(head.headers);
    const vars = (name: string) => this.variable(name);
    applyHeaderMutations(head.headers, route.response_headers_to_add, route.response_headers_to_remove, vars);
    applyHeaderMutations(head.headers, vh.response_headers_to_add, vh.response_headers_to_remove, vars);
    applyHeaderMutations(head.headers, this.shared.routeConfig.response_headers_to_add, this.shared.routeConfig.response_headers_to_remove, vars);
    for (let i = this.filters.length - 1; i >= 0; i--) await this.filters[i]?.encodeHeaders?.(head, this);
    this.responseCodeDetails = 'via_upstream';
    if (this.bufferResponseBody) {
      let body = await readAll(response.body);
      let trailers: HeaderMap | undefined = await response.trailers;
      for (let i = this.filters.length - 1; i >= 0; i--) {
        const filter = this.filters[i];
        if (!filter?.encodeBody) continue;
        const out = await filter.encodeBody(body, trailers, head, this);
        body = out.body;
        trailers = out.trailers;
      }
      delete head.headers['transfer-encoding'];
      head.headers['content-length'] = String(body.length);
      this.writeHead(head);
      if (trailers && Object.keys(trailers).length > 0) {
        this.responseTrailers = trailers;
        (this.res as ServerResponse).addTrailers(trailers as Record<string, string>);
      }
      this.bytesSent += body.length;
      this.res.end(body);
      return;
    }
    if (head.headers['grpc-status'] !== undefined) {
      // A gRPC trailers-only response: the status is in the headers and there is no body.
      response.body.resume();
      return this.endHeadersOnly(head);
    }
    this.writeHead(head);
    // The whole body came with the head (a small response): head and body leave in one write.
    const whole = response.takeCompleteBody?.();
    if (whole !== undefined) {
      const trailers = await response.trailers;
      if (Object.keys(trailers).length > 0) {
        this.responseTrailers = trailers;
        (this.res as ServerResponse).addTrailers(trailers as Record<string, string>);
      }
      this.bytesSent += whole.length;
      this.res.end(whole);
      return;
    }
    response.body.on('data', (chunk: Buffer) => (this.bytesSent += chunk.length));
    try {
      await pipeBody(response.body, this.res);
      const trailers = await response.trailers;
      if (Object.keys(trailers).length > 0) {
        this.responseTrailers = trailers;
        (this.res as ServerResponse).addTrailers(trailers as Record<string, string>);
      }
      this.res.end();
    } catch {
      // The upstream reset mid-body: reset the downstream too, as Envoy does.
      this.responseFlags.push('UR');
      this.res.destroy();
    }
  }

  private applyServerHeader(headers: HeaderMap): void {
    const mode = this.shared.config.server_header_transformation ?? 'OVERWRITE';
    if (mode === 'PASS_THROUGH') return;
    if (mode === 'APPEND_IF_ABSENT' && headers.server !== undefined) return;
    headers.server = this.shared.config.server_name ?? 'envoy';
  }

  /**
   * Ends the response with its headers alone. On HTTP/2 the HEADERS frame carries END_STREAM, which is
   * what makes a gRPC trailers-only response; the compatibility API would add an empty DATA frame.
   */
  private endHeadersOnly(head: ResponseHead): void {
    this.status = head.status;
    this.responseHeaders = head.headers;
    this.responseStartNs = process.hrtime.bigint();
    if (this.downstreamProtocol === 'HTTP/2') {
      const stream = (this.res as Http2ServerResponse).stream;
      if (!stream.destroyed && !stream.headersSent) {
        stream.respond({ ':status': head.status, ...head.headers }, { endStream: true });
        return;
      }
    }
    this.res.writeHead(head.status, head.headers as Record<string, string | string[]>);
    this.res.end();
  }

  private writeHead(head: ResponseHead): void {
    this.status = head.status;
    this.responseHeaders = head.headers;
    this.responseStartNs = process.hrtime.bigint();
    this.res.writeHead(head.status, head.headers as Record<string, string | string[]>);
  }

  /** A reply made here (Envoy's sendLocalReply); it passes the encoder filters, as in Envoy. */
  async localReply(reply: LocalReply, details: string, route?: Route): Promise<void> {
    if (reply.responseFlag) this.responseFlags.push(reply.responseFlag);
    this.responseCodeDetails = details;
    const rendered = renderLocalReply(reply, this.grpc);
    this.applyServerHeader(rendered.headers);
    if (route) {
      const vars = (name: string) => this.variable(name);
      applyHeaderMutations(rendered.headers, route.response_headers_to_add, route.response_headers_to_remove, vars);
    }
    // Drain an unread request body so the connection stays usable.
    if (!this.req.readableEnded) this.req.resume();
    const head: ResponseHead = { status: rendered.status, headers: rendered.headers };
    let body = rendered.body;
    // A transcoded request gets its local reply converted back (e.g. a 503 as JSON), as from upstream.
    for (let i = this.filters.length - 1; i >= 0; i--) await this.filters[i]?.encodeHeaders?.(head, this);
    if (this.bufferResponseBody) {
      for (let i = this.filters.length - 1; i >= 0; i--) {
        const filter = this.filters[i];
        if (filter?.encodeBody) body = (await filter.encodeBody(body, undefined, head, this)).body;
      }
      if (head.headers['content-length'] !== undefined) head.headers['content-length'] = String(body.length);
    }
    if (head.headers['grpc-status'] !== undefined && body.length === 0) return this.endHeadersOnly(head);
    this.writeHead(head);
    this.bytesSent += body.length;
    this.res.end(body);
  }

  private variable(name: string): string | undefined {
    switch (name) {
      case 'DOWNSTREAM_REMOTE_ADDRESS': return this.conn.remoteAddress + ':' + this.conn.remotePort;
      case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT': return this.conn.remoteAddress;
      case 'DOWNSTREAM_LOCAL_ADDRESS': return this.conn.localAddress + ':' + this.conn.localPort;
      case 'UPSTREAM_HOST': return this.upstreamHost?.id;
      case 'REQUESTED_SERVER_NAME': return this.conn.serverName;
      case 'PROTOCOL': return this.downstreamProtocol;
      default: return undefined;
    }
  }

  private completed = false;
  /**
   * HTTP/2 only: a stream the client resets (rapid reset, CVE-2023-44487) cancels its upstream request,
   * as Envoy resets the upstream stream; HTTP/1 keeps its allocation-free path.
   */
  /** Fired when the downstream goes away before the response ended: the upstream request is reset too. */
  private readonly downstreamReset = new DownstreamReset();

  /** One fixed-shape record per stream, of values and references; the recorder builds the entry when read. */
  private recordTrace(endNs: bigint): void {
    this.shared.trace?.recordHttp({
      conn: this.conn,
      startMs: this.startMs,
      durationMs: Number((endNs - this.startNs) / 1_000_000n),
      requestId: firstValue(this.head.headers['x-request-id']),
      authority: this.head.authority,
      path: firstValue(this.originalHeaders['x-envoy-original-path']) ?? this.head.path,
      method: this.head.method,
      routeConfig: this.shared.routeConfig.name,
      matched: this.routeCache ?? undefined,
      cluster: this.upstreamCluster,
      upstreamHost: this.upstreamHost?.id,
      upstreamTls: this.upstreamFailureTls ?? this.upstreamHost?.tls,
      responseCode: this.status,
      responseCodeDetails: this.responseCodeDetails,
      responseFlags: this.responseFlags,
      error: this.upstreamFailureReason,
    });
  }

  private complete(): void {
    if (this.completed) return;
    this.completed = true;
    if (!this.res.writableEnded) this.downstreamReset.abort(new Error('downstream reset the stream'));
    const stats = this.shared.stats;
    stats.rqActive.dec();
    if (this.status > 0) stats.rqByClass(statusClass(this.status)).inc();
    if (!this.res.writableFinished && !this.responseFlags.includes('UR')) this.responseFlags.push('DC');
    const endNs = process.hrtime.bigint();
    const trace = this.shared.trace;
    if (trace?.enabled && trace.wantsHttp(this.status === 0 || this.status >= 400 || this.responseFlags.length > 0, this.head.headers[TRACE_HEADER] !== undefined)) this.recordTrace(endNs);
    if (this.shared.accessLoggers.length === 0) return;
    const requestHeaders = (name: string): string | undefined => {
      if (name === ':method') return this.head.method;
      if (name === ':path') return this.originalHeaders['x-envoy-original-path'] as string ?? this.head.path;
      if (name === ':authority') return this.head.authority;
      if (name === ':scheme') return this.head.scheme;
      return firstValue(this.head.headers[name] ?? this.originalHeaders[name]);
    };
    const entry = {
      startTime: new Date(this.startMs),
      durationMs: Number((endNs - this.startNs) / 1_000_000n),
      ...(this.responseStartNs ? { responseDurationMs: Number((this.responseStartNs - this.startNs) / 1_000_000n) } : {}),
      protocol: this.downstreamProtocol,
      requestHeaders,
      responseHeaders: (name: string) => firstValue(this.responseHeaders[name]),
      responseTrailers: (name: string) => firstValue(this.responseTrailers[name]),
      responseCode: this.status,
      responseCodeDetails: this.responseCodeDetails,
      responseFlags: this.responseFlags,
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      ...(this.upstreamHost ? { upstreamHost: this.upstreamHost.id } : {}),
      ...(this.upstreamCluster ? { upstreamCluster: this.upstreamCluster } : {}),
      downstreamRemoteAddress: `${this.conn.remoteAddress}:${this.conn.remotePort}`,
      downstreamLocalAddress: `${this.conn.localAddress}:${this.conn.localPort}`,
      ...(this.conn.serverName ? { requestedServerName: this.conn.serverName } : {}),
      ...(this.routeCache?.route.name ? { routeName: this.routeCache.route.name } : {}),
      ...(this.conn.peerUriSan ? { downstreamPeerUriSan: this.conn.peerUriSan } : {}),
      ...(this.conn.tlsVersion ? { downstreamTlsVersion: this.conn.tlsVersion } : {}),
      ...(this.upstreamFailureReason ? { upstreamTransportFailureReason: this.upstreamFailureReason } : {}),
      connectionId: this.conn.id,
    };
    for (const logger of this.shared.accessLoggers) logger.log(entry);
  }
}

/** Every x-envoy-* header (x-envoy-original-path included) and the route's internal_only_headers. */
function removeInternalHeaders(headers: HeaderMap, internalOnly: readonly string[] | undefined): void {
  for (const name of Object.keys(headers)) if (name.startsWith('x-envoy-')) delete headers[name];
  for (const name of internalOnly ?? []) delete headers[name.toLowerCase()];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
