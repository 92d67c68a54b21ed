/**
 * HTTP/1.1 to one host: an undici Pool with keep-alive whose sockets come from the cluster's Connector
 * (undici would otherwise set SNI from the Host header and its own ALPN). Requests go through
 * Pool.dispatch with a handler that is the exchange itself, so no intermediate response object or
 * header parsing pass is made beyond building the HeaderMap once.
 */
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { HeaderMap } from '../http/filter.js';
import type { Connector } from './connector.js';
import { toUpstreamError } from './errors.js';
import { Exchange } from './exchange.js';
import type { ExchangeContext } from './exchange.js';
import { hostId } from './host.js';
import type { Host, HostPool } from './host.js';
import type { UpstreamRequest } from './types.js';

/** Connection-level headers never forwarded on either side (RFC 9110 7.6.1), plus what the codec sets. */
const REQUEST_SKIP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'host', 'http2-settings', 'expect']);
const RESPONSE_SKIP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** undici's default idle keep-alive; it also follows the server's Keep-Alive: timeout hint. */
const DEFAULT_KEEP_ALIVE_MS = 4_000;
const DEFAULT_KEEP_ALIVE_MAX_MS = 600_000;

export interface Http1PoolOptions {
  readonly maxConnections: number;
  readonly idleTimeoutMs: number | undefined;
  readonly maxRequestsPerConnection: number | undefined;
}

// Header bytes map 1:1 to latin1 strings, so values that are not ASCII pass through unchanged.
function text(raw: Buffer | string): string {
  return typeof raw === 'string' ? raw : raw.toString('latin1');
}

/** Raw header pairs from llhttp as a HeaderMap (lower-case names; repeated names become arrays). */
function headerMap(raw: ReadonlyArray<Buffer | string> | null, skip: ReadonlySet<string> | undefined): HeaderMap {
  const map: HeaderMap = {};
  if (!raw) return map;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = text(raw[i]!).toLowerCase();
    if (skip?.has(name)) continue;
    const value = text(raw[i + 1]!);
    const prev = map[name];
    if (prev === undefined) map[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else map[name] = [prev, value];
  }
  return map;
}

class Http1Body extends Readable {
  constructor(private readonly exchange: Http1Exchange) {
    super();
  }

  override _read(): void {
    this.exchange.resumeUpstream();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.exchange.bodyDestroyed(err);
    callback(err);
  }
}

/** The exchange doubles as undici's (legacy, allocation-free) dispatch handler. */
class Http1Exchange extends Exchange implements Dispatcher.DispatchHandler {
  readonly protocol = 'HTTP/1.1' as const;
  body!: Http1Body;
  private abortFn: ((err?: Error) => void) | undefined;
  private resumeFn: (() => void) | undefined;

  constructor(ctx: ExchangeContext, host: Host, request: UpstreamRequest, pending: boolean, private readonly pool: Http1Pool) {
    super(ctx, host, request, pending);
    pool.inflight++;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.settled) {
      abort(new Error('request abandoned before it was sent'));
      return;
    }
    this.dispatched();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx informational responses are not forwarded
    this.resumeFn = resume;
    this.body = new Http1Body(this);
    this.responseHeaders(statusCode, headerMap(rawHeaders, RESPONSE_SKIP));
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.body.push(chunk);
  }

  onComplete(trailers: string[] | null): void {
    const map = headerMap(trailers, undefined);
    if (this.body) this.body.push(null);
    this.completed(map);
  }

  onError(err: Error): void {
    this.fail(toUpstreamError(err, `HTTP/1.1 to ${this.host.id}`));
  }

  resumeUpstream(): void {
    this.resumeFn?.();
  }

  /** The caller destroyed the body before it ended: reset the upstream request (Envoy's tx reset). */
  bodyDestroyed(err: Error | null): void {
    if (this.settled) return;
    this.ctx.stats.rqTxReset.inc();
    this.fail(err ?? new Error('response body destroyed by the caller'));
  }

  protected abortUpstream(err: Error): void {
    this.abortFn?.(err);
  }

  protected override released(): void {
    this.pool.inflight--;
  }
}

export class Http1Pool implements HostPool {
  /** Open sockets (connected, idle or busy) and requests admitted to this pool. */
  ready = 0;
  inflight = 0;
  private readonly pool: Pool;

  constructor(private readonly ctx: ExchangeContext, private readonly host: Host, connector: Connector, options: Http1PoolOptions) {
    // idle_timeout, when set, also caps a longer Keep-Alive hint from the server.
    const keepAlive = options.idleTimeoutMs ?? DEFAULT_KEEP_ALIVE_MS;
    const keepAliveMax = options.idleTimeoutMs ?? DEFAULT_KEEP_ALIVE_MAX_MS;
    // The origin only names the pool: the connect function below decides where sockets go.
    this.pool = new Pool(`http://${hostId(host.address, host.port)}`, {
      connections: options.maxConnections,
      pipelining: 1,
      keepAliveTimeout: keepAlive,
      keepAliveMaxTimeout: keepAliveMax,
      headersTimeout: 0, // the per-try timeout is the exchange's
      bodyTimeout: 0,
      ...(options.maxRequestsPerConnection ? { maxRequestsPerClient: options.maxRequestsPerConnection } : {}),
      connect: (_opts, callback) => {
        connector.connect(host, undefined, 'wait', (err, socket) => {
          if (err || !socket) {
            callback(err ?? new Error('no socket'), null);
            return;
          }
          this.ready++;
          ctx.stats.cxHttp1Total.inc();
          socket.once('close', () => this.ready--);
          callback(null, socket);
        });
      },
    });
  }

  /** Envoy queues a request as pending when no connection is free for it. */
  wouldQueue(): boolean {
    return this.inflight >= this.ready;
  }

  request(request: UpstreamRequest, pending: boolean): Exchange {
    const exchange = new Http1Exchange(this.ctx, this.host, request, pending, this);
    const headers: string[] = ['host', request.authority];
    const src = request.headers;
    for (const name in src) {
      if (REQUEST_SKIP.has(name) || name.charCodeAt(0) === 58 /* ':' */) continue;
      const value = src[name]!;
      if (typeof value === 'string') headers.push(name, value);
      else for (const v of value) headers.push(name, v);
    }
    const body = request.body;
    this.pool.dispatch({
      path: request.path,
      method: request.method,
      headers,
      body: body === null || (Buffer.isBuffer(body) && body.length === 0) ? null : body,
    }, exchange);
    return exchange;
  }

  drain(): void {
    void this.pool.close().catch(() => undefined);
  }

  async destroy(): Promise<void> {
    await this.pool.destroy().catch(() => undefined);
  }
}
