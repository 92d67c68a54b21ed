/**
 * HTTP/2 to one host: one shared node:http2 session (TLS with ALPN h2, or h2c) over a socket from the
 * cluster's Connector. A session that closes or receives GOAWAY is replaced on the next request.
 * Request bodies stream; response trailers are delivered (gRPC needs them).
 */
import { connect as http2Connect, constants } from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Http2ProtocolOptions } from '../../envoy/index.js';
import type { HeaderMap } from '../http/filter.js';
import type { Connector } from './connector.js';
import { toUpstreamError } from './errors.js';
import { Exchange } from './exchange.js';
import type { ExchangeContext } from './exchange.js';
import { hostId } from './host.js';
import type { Host, HostPool } from './host.js';
import { UpstreamError } from './types.js';
import type { UpstreamRequest } from './types.js';

/** Connection-specific headers are forbidden in HTTP/2 (RFC 9113 8.2.2); `te` only as "trailers". */
const REQUEST_SKIP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings', 'expect', 'te']);
/** Envoy's default upstream HTTP/2 idle_timeout is one hour. */
const DEFAULT_IDLE_TIMEOUT_MS = 3_600_000;
const H2_ALPN = ['h2'];
const kExchange = Symbol('isthmus.exchange');

type TaggedStream = ClientHttp2Stream & { [kExchange]: Http2Exchange };

export interface Http2PoolOptions {
  readonly secure: boolean;
  readonly http2: Http2ProtocolOptions;
  readonly idleTimeoutMs: number | undefined;
  readonly maxRequestsPerConnection: number | undefined;
}

function headerMap(h: IncomingHttpHeaders): HeaderMap {
  const map: HeaderMap = {};
  for (const name in h) {
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    const value = h[name];
    if (value !== undefined) map[name] = value;
  }
  return map;
}

/** A session and its stream counts (for unref when idle and max_requests_per_connection). */
class Connection {
  active = 0;
  total = 0;
  /** Takes no new streams; destroyed when the last one ends. */
  closing = false;
  constructor(readonly session: ClientHttp2Session, private readonly socket: Socket) {}

  /**
   * Ends the session and its socket. Node's graceful close only half-closes the socket and waits for
   * the peer, which may never close its side after sending GOAWAY.
   */
  destroy(): void {
    this.session.destroy();
    this.socket.destroy();
  }
}

// Stream listeners are shared functions (no closures per request); the exchange rides on the stream.
function onStreamResponse(this: ClientHttp2Stream, headers: IncomingHttpHeaders): void {
  (this as TaggedStream)[kExchange].onResponse(headers);
}
function onStreamTrailers(this: ClientHttp2Stream, trailers: IncomingHttpHeaders): void {
  (this as TaggedStream)[kExchange].trailerHeaders = headerMap(trailers);
}
function onStreamEnd(this: ClientHttp2Stream): void {
  (this as TaggedStream)[kExchange].onEnd();
}
function onStreamError(this: ClientHttp2Stream, err: Error): void {
  (this as TaggedStream)[kExchange].streamError = err;
}
function onStreamClose(this: ClientHttp2Stream): void {
  (this as TaggedStream)[kExchange].onClose();
}

class Http2Exchange extends Exchange {
  readonly protocol = 'HTTP/2' as const;
  body!: ClientHttp2Stream;
  trailerHeaders: HeaderMap | undefined;
  streamError: Error | undefined;
  private stream: ClientHttp2Stream | undefined;
  private conn: Connection | undefined;

  constructor(ctx: ExchangeContext, host: Host, request: UpstreamRequest, pending: boolean, private readonly pool: Http2Pool) {
    super(ctx, host, request, pending);
  }

  /** Opens the stream; false when the session can no longer take streams (the pool reconnects). */
  start(conn: Connection, scheme: string): boolean {
    if (this.settled) return true;
    const req = this.request;
    const headers: OutgoingHttpHeaders = { ':method': req.method, ':path': req.path, ':authority': req.authority, ':scheme': scheme };
    const src = req.headers;
    for (const name in src) {
      if (REQUEST_SKIP.has(name) || name.charCodeAt(0) === 58) continue;
      headers[name] = src[name];
    }
    // gRPC servers expect "te: trailers"; it is the one TE value HTTP/2 allows.
    const ct = src['content-type'];
    if (src.te === 'trailers' || (typeof ct === 'string' && ct.startsWith('application/grpc'))) headers.te = 'trailers';
    const body = req.body;
    const endStream = body === null || (Buffer.isBuffer(body) && body.length === 0);
    let stream: ClientHttp2Stream;
    try {
      stream = conn.session.request(headers, { endStream });
    } catch (err) {
      if (conn.session.closed || conn.session.destroyed) return false;
      this.fail(toUpstreamError(err, `HTTP/2 request to ${this.host.id}`));
      return true;
    }
    this.stream = stream;
    this.conn = conn;
    this.pool.streamOpened(conn);
    (stream as TaggedStream)[kExchange] = this;
    stream.on('response', onStreamResponse);
    stream.on('trailers', onStreamTrailers);
    stream.on('end', onStreamEnd);
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
    this.dispatched();
    if (!endStream) {
      if (Buffer.isBuffer(body)) stream.end(body);
      else pipeBody(body as Readable, stream);
    }
    return true;
  }

  onResponse(headers: IncomingHttpHeaders): void {
    this.body = this.stream as ClientHttp2Stream;
    this.responseHeaders(Number(headers[':status']), headerMap(headers));
  }

  onEnd(): void {
    this.completed(this.trailerHeaders ?? {});
  }

  onClose(): void {
    if (this.conn) this.pool.streamClosed(this.conn);
    if (this.settled) return;
    const stream = this.stream as ClientHttp2Stream;
    const session = this.conn?.session;
    if (session === undefined || session.destroyed || session.closed) {
      // The stream died with its session: a connection termination.
      this.fail(new UpstreamError('UC', `upstream HTTP/2 connection to ${this.host.id} closed`, { cause: this.streamError }));
    } else if (this.streaming && this.streamError === undefined) {
      // The caller destroyed the body (the stream itself) before it ended: a local reset.
      this.ctx.stats.rqTxReset.inc();
      this.fail(new Error('response body destroyed by the caller'));
    } else {
      this.ctx.stats.rqRxReset.inc();
      this.fail(new UpstreamError('UR', `upstream reset the HTTP/2 stream (code ${stream.rstCode ?? 'none'}) from ${this.host.id}`, { cause: this.streamError }));
    }
  }

  protected abortUpstream(): void {
    const stream = this.stream;
    if (!stream) this.pool.forget(this);
    else if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
  }
}

function pipeBody(body: Readable, stream: ClientHttp2Stream): void {
  body.once('error', (err) => stream.destroy(err));
  body.pipe(stream);
}

export class Http2Pool implements HostPool {
  private conn: Connection | undefined;
  private connecting = false;
  private waiting: Http2Exchange[] = [];
  private readonly conns = new Set<Connection>();
  private draining = false;
  private destroyed = false;
  private readonly scheme: string;
  private readonly authority: string;

  constructor(private readonly ctx: ExchangeContext, private readonly host: Host, private readonly connector: Connector, private readonly options: Http2PoolOptions) {
    this.scheme = options.secure ? 'https' : 'http';
    this.authority = `${this.scheme}://${hostId(host.address, host.port)}`;
  }

  /** Pending in Envoy's sense: no connected session yet. */
  wouldQueue(): boolean {
    return this.conn === undefined;
  }

  request(request: UpstreamRequest, pending: boolean): Exchange {
    const exchange = new Http2Exchange(this.ctx, this.host, request, pending, this);
    this.dispatch(exchange);
    return exchange;
  }

  private dispatch(exchange: Http2Exchange): void {
    const conn = this.conn;
    if (conn) {
      if (exchange.start(conn, this.scheme)) return;
      this.detach(conn);
    }
    if (this.destroyed) {
      exchange.fail(new UpstreamError('UC', `HTTP/2 pool to ${this.host.id} is closed`));
      return;
    }
    this.waiting.push(exchange);
    if (!this.connecting) this.connect();
  }

  private connect(): void {
    this.connecting = true;
    this.connector.connect(this.host, H2_ALPN, 'wait', (err, socket) => {
      this.connecting = false;
      if (err || !socket) {
        for (const exchange of this.waiting.splice(0)) exchange.fail(err ?? new UpstreamError('UF', 'no socket'));
        return;
      }
      if (this.destroyed) {
        socket.destroy();
        return;
      }
      const conn = this.open(socket);
      for (const exchange of this.waiting.splice(0)) this.dispatch(exchange);
      if (this.draining) this.retire(conn);
    });
  }

  private open(socket: Socket): Connection {
    const h2 = this.options.http2;
    const session = http2Connect(this.authority, {
      createConnection: () => socket,
      settings: { enablePush: false, ...(h2.initial_stream_window_size ? { initialWindowSize: h2.initial_stream_window_size } : {}) },
    });
    const conn = new Connection(session, socket);
    this.conn = conn;
    this.conns.add(conn);
    this.ctx.stats.cxHttp2Total.inc();
    if (h2.initial_connection_window_size) session.once('connect', () => session.setLocalWindowSize(h2.initial_connection_window_size as number));
    // Streams see session failures through their own close; the session's error only needs a listener.
    session.on('error', () => undefined);
    session.on('goaway', () => this.retire(conn));
    session.on('close', () => {
      this.detach(conn);
      this.conns.delete(conn);
    });
    session.setTimeout(this.options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, () => {
      if (conn.active === 0) this.retire(conn);
    });
    return conn;
  }

  private detach(conn: Connection): void {
    if (this.conn === conn) this.conn = undefined;
  }

  /** No new streams on this session; it is destroyed once its last stream ends. */
  private retire(conn: Connection): void {
    this.detach(conn);
    conn.closing = true;
    if (conn.active === 0) conn.destroy();
    else if (!conn.session.closed && !conn.session.destroyed) conn.session.close();
  }

  streamOpened(conn: Connection): void {
    if (conn.active++ === 0) conn.session.ref();
    conn.total++;
    const max = this.options.maxRequestsPerConnection;
    // Envoy's max_requests_per_connection: no new streams here; close once the last one ends.
    if (max !== undefined && conn.total >= max) this.retire(conn);
  }

  streamClosed(conn: Connection): void {
    if (--conn.active > 0) return;
    if (conn.closing) conn.destroy();
    // An idle session must not keep the process alive; close() still ends it for shutdown.
    else if (!conn.session.destroyed) conn.session.unref();
  }

  /** A queued exchange gave up (timeout, abort) before a session was ready. */
  forget(exchange: Http2Exchange): void {
    const i = this.waiting.indexOf(exchange);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  drain(): void {
    this.draining = true;
    if (this.conn) this.retire(this.conn);
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    this.conn = undefined;
    for (const exchange of this.waiting.splice(0)) exchange.fail(new UpstreamError('UC', `HTTP/2 pool to ${this.host.id} closed`));
    const closing = [...this.conns].map((c) => new Promise<void>((done) => {
      if (c.session.destroyed) done();
      else c.session.once('close', () => done());
      c.destroy();
    }));
    this.conns.clear();
    await Promise.all(closing);
  }
}
