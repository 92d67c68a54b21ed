/**
 * HTTP/1.1 to one host: keep-alive connections from the cluster's Connector (its SNI and ALPN, never
 * derived from a Host header), one request at a time per connection, requests waiting in a FIFO queue
 * while max_connections are busy (Envoy's pending requests). The wire format is http1-codec's: a request
 * without a body is one write, a buffered body goes in the same write as its head, and the response body
 * is delivered in views of the socket's chunks; a body that arrives with its head is handed over whole.
 */
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { HeaderMap } from '../http/filter.js';
import type { Connector } from './connector.js';
import { toUpstreamError } from './errors.js';
import { Exchange } from './exchange.js';
import type { ExchangeContext } from './exchange.js';
import type { Host, HostPool } from './host.js';
import { encodeRequestHead, ResponseParser } from './http1-codec.js';
import type { ResponseHandler } from './http1-codec.js';
import { UpstreamError } from './types.js';
import type { UpstreamRequest } from './types.js';

/** Connection-level headers never forwarded (RFC 9110 7.6.1), plus what the codec sets itself. */
const REQUEST_SKIP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'host', 'http2-settings', 'expect', 'content-length']);

/** Idle keep-alive before a connection is closed, unless idle_timeout says otherwise; a server's shorter Keep-Alive hint wins. */
const DEFAULT_KEEP_ALIVE_MS = 4_000;
/** Closed this long before the server's hinted timeout, so a request never races the server's close. */
const KEEP_ALIVE_MARGIN_MS = 1_000;

export interface Http1PoolOptions {
  readonly maxConnections: number;
  readonly idleTimeoutMs: number | undefined;
  readonly maxRequestsPerConnection: number | undefined;
}

class Http1Body extends Readable {
  constructor(private readonly exchange: Http1Exchange) {
    super();
  }

  override _read(): void {
    this.exchange.connection?.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.exchange.bodyDestroyed(err);
    callback(err);
  }
}

class Http1Exchange extends Exchange {
  readonly protocol = 'HTTP/1.1' as const;
  connection: Http1Connection | undefined;
  /** Body chunks that arrived before anyone asked for the body stream. */
  private early: Buffer[] | undefined;
  private ended = false;
  private taken = false;
  private stream: Http1Body | undefined;

  constructor(ctx: ExchangeContext, host: Host, request: UpstreamRequest, pending: boolean) {
    super(ctx, host, request, pending);
  }

  get isHead(): boolean {
    return this.request.method === 'HEAD';
  }

  get upstreamRequest(): UpstreamRequest {
    return this.request;
  }

  /** Created on first use: a caller that takes the whole body (takeCompleteBody) never makes one. */
  get body(): Readable {
    if (!this.stream) {
      this.stream = new Http1Body(this);
      // After takeCompleteBody, early is empty and ended is set: the stream is empty and ended.
      for (const chunk of this.early ?? []) this.stream.push(chunk);
      this.early = undefined;
      if (this.ended) this.stream.push(null);
      else if (this.settled) this.stream.destroy(new Error('upstream response failed'));
    }
    return this.stream;
  }

  /** The whole body, when it has already arrived and nobody has read the stream: one downstream write. */
  takeCompleteBody(): Buffer | undefined {
    if (this.stream || !this.ended || this.taken) return undefined;
    const chunks = this.early ?? [];
    this.early = undefined;
    this.taken = true;
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  }

  head(status: number, headers: HeaderMap): void {
    this.responseHeaders(status, headers);
  }

  data(chunk: Buffer): void {
    if (this.settled) return;
    if (this.stream) {
      if (!this.stream.push(chunk)) this.connection?.pause();
    } else (this.early ??= []).push(chunk);
  }

  end(trailers: HeaderMap): void {
    this.ended = true;
    this.connection = undefined;
    this.stream?.push(null);
    this.completed(trailers);
  }

  /** The caller destroyed the body before it ended: reset the upstream request (Envoy's tx reset). */
  bodyDestroyed(err: Error | null): void {
    if (this.settled) return;
    this.ctx.stats.rqTxReset.inc();
    this.fail(err ?? new Error('response body destroyed by the caller'));
  }

  protected abortUpstream(): void {
    this.connection?.reset();
  }
}

/** One keep-alive connection: the exchange it carries, the response parser, the idle timer. */
class Http1Connection implements ResponseHandler {
  private exchange: Http1Exchange | undefined;
  private readonly parser = new ResponseParser(this);
  private idleTimer: NodeJS.Timeout | undefined;
  private idleTimeoutMs = 0;
  /** Between requests (the idle timer only closes an idle connection). */
  private idling = false;
  private requests = 0;
  private closed = false;
  /** The request (body included) is all written: until then a finished response cannot free the connection. */
  private requestWritten = true;
  private error: Error | undefined;

  constructor(private readonly socket: Socket, private readonly pool: Http1Pool) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (err) => (this.error ??= err));
    socket.on('close', () => this.onClose());
  }

  send(exchange: Http1Exchange): void {
    this.idling = false;
    this.socket.ref();
    // A body that pushed back may have paused the socket just before its response ended.
    if (this.socket.isPaused()) this.socket.resume();
    this.exchange = exchange;
    this.requests++;
    exchange.connection = this;
    exchange.dispatched();
    const request = exchange.upstreamRequest;
    const body = request.body;
    this.parser.expect(exchange.isHead);
    try {
      if (body === null || (Buffer.isBuffer(body) && body.length === 0)) {
        // content-length: 0 only where a body is expected (RFC 9110 8.6), as clients do.
        const framing = body !== null || expectsBody(request.method) ? 'content-length: 0\r\n' : '';
        this.socket.write(encodeRequestHead(request.method, request.path, request.authority, request.headers, REQUEST_SKIP, framing), 'latin1');
      } else if (Buffer.isBuffer(body)) {
        const head = encodeRequestHead(request.method, request.path, request.authority, request.headers, REQUEST_SKIP, `content-length: ${body.length}\r\n`);
        // One write (one TLS record, one syscall) for the head and a buffered body.
        this.socket.cork();
        this.socket.write(head, 'latin1');
        this.socket.write(body);
        this.socket.uncork();
      } else {
        const length = request.headers['content-length'];
        const framing = typeof length === 'string' ? `content-length: ${length}\r\n` : 'transfer-encoding: chunked\r\n';
        this.socket.write(encodeRequestHead(request.method, request.path, request.authority, request.headers, REQUEST_SKIP, framing), 'latin1');
        this.requestWritten = false;
        this.streamBody(body, typeof length !== 'string');
      }
    } catch (err) {
      exchange.fail(toUpstreamError(err, `HTTP/1.1 to ${exchange.host.id}`));
    }
  }

  private streamBody(body: Readable, chunked: boolean): void {
    const socket = this.socket;
    const exchange = this.exchange;
    const onData = (chunk: Buffer): void => {
      if (chunk.length === 0) return;
      let ok: boolean;
      if (chunked) {
        // All three parts always go out (one writev); back-pressure is read from the last.
        socket.cork();
        socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        socket.write(chunk);
        ok = socket.write('\r\n', 'latin1');
        socket.uncork();
      } else ok = socket.write(chunk);
      if (!ok) {
        body.pause();
        socket.once('drain', () => body.resume());
      }
    };
    body.on('data', onData);
    body.once('end', () => {
      if (this.exchange !== exchange) return;
      if (chunked) socket.write('0\r\n\r\n', 'latin1');
      this.requestWritten = true;
    });
    body.once('error', (err) => exchange?.fail(toUpstreamError(err, `request body to ${exchange.host.id}`)));
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** The exchange failed or was abandoned mid-flight: the connection cannot be reused. */
  reset(): void {
    this.exchange = undefined;
    this.socket.destroy();
  }

  close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    try {
      this.parser.feed(chunk);
    } catch (err) {
      const exchange = this.exchange;
      this.exchange = undefined;
      this.socket.destroy();
      exchange?.fail(toUpstreamError(err, `HTTP/1.1 from ${exchange.host.id}`));
    }
  }

  onResponseHead(status: number, headers: HeaderMap): void {
    this.exchange?.head(status, headers);
  }

  onResponseBody(chunk: Buffer): void {
    this.exchange?.data(chunk);
  }

  onResponseComplete(trailers: HeaderMap, reusable: boolean): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    const max = this.pool.options.maxRequestsPerConnection;
    // A response that came before the request body was all sent (an early 413, say) ends the connection.
    const keep = reusable && this.requestWritten && !this.closed && (max === undefined || this.requests < max);
    // Released before the caller hears of the end, so its next request can take this connection.
    if (keep) this.pool.released(this);
    else this.close();
    exchange?.end(trailers);
  }

  /**
   * Idle: unref'd (an idle pool never keeps the process alive) and closed after the keep-alive timeout.
   * The connection's one timer is re-armed (refresh) rather than made anew for every idle period.
   */
  idle(): void {
    this.socket.unref();
    const configured = this.pool.options.idleTimeoutMs ?? DEFAULT_KEEP_ALIVE_MS;
    const hint = this.parser.keepAliveHintMs;
    const timeout = hint !== undefined ? Math.min(configured, Math.max(hint - KEEP_ALIVE_MARGIN_MS, 0)) : configured;
    if (timeout <= 0) return this.close();
    this.idling = true;
    if (this.idleTimer && this.idleTimeoutMs === timeout) {
      this.idleTimer.refresh();
      return;
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimeoutMs = timeout;
    this.idleTimer = setTimeout(() => this.idleExpired(), timeout);
    this.idleTimer.unref();
  }

  /** The timer may fire for an idle period that already ended (it is only re-armed, never cleared, while busy). */
  private idleExpired(): void {
    if (this.idling) this.close();
  }

  /** The peer ended its side: a close-delimited body is complete; anything else waits for 'close'. */
  private onEnd(): void {
    if (this.exchange && this.parser.finish()) return;
    this.socket.destroy();
  }

  /** After the connector's own listener (upstream_cx_destroy is counted before a request fails). */
  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.pool.closed(this);
    const exchange = this.exchange;
    this.exchange = undefined;
    if (exchange && !this.parser.finish()) {
      const why = this.error ?? Object.assign(new Error('the upstream closed the connection before the response ended'), { code: 'ECONNRESET' });
      exchange.fail(toUpstreamError(why, `HTTP/1.1 to ${exchange.host.id}`));
    }
  }
}

function expectsBody(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH';
}

export class Http1Pool implements HostPool {
  private connecting = 0;
  private draining = false;
  private destroyed = false;
  private readonly idleConnections: Http1Connection[] = [];
  private readonly all = new Set<Http1Connection>();
  private readonly queue: Http1Exchange[] = [];

  constructor(private readonly ctx: ExchangeContext, private readonly host: Host, private readonly connector: Connector, readonly options: Http1PoolOptions) {}

  /** Envoy queues a request as pending when no connection is free for it. */
  wouldQueue(): boolean {
    return this.idleConnections.length === 0;
  }

  request(request: UpstreamRequest, pending: boolean): Exchange {
    const exchange = new Http1Exchange(this.ctx, this.host, request, pending);
    const connection = this.idleConnections.pop();
    if (connection) connection.send(exchange);
    else {
      this.queue.push(exchange);
      this.grow();
    }
    return exchange;
  }

  /** Opens connections for queued requests, up to max_connections (the connector waits for a slot). */
  private grow(): void {
    while (this.queue.length > this.connecting && this.all.size + this.connecting < this.options.maxConnections) {
      this.connecting++;
      this.connector.connect(this.host, undefined, 'wait', (err, socket) => this.connected(err, socket));
    }
  }

  private connected(err: Error | null, socket: Socket | null): void {
    this.connecting--;
    if (socket && this.destroyed) return void socket.destroy();
    if (err || !socket) {
      // Requests the remaining connection attempts cannot serve fail with this one's error.
      const failure = err ?? new UpstreamError('UF', `upstream connect to ${this.host.id} failed`);
      while (this.queue.length > this.connecting) this.queue.shift()?.fail(failure);
      return;
    }
    this.ctx.stats.cxHttp1Total.inc();
    const connection = new Http1Connection(socket, this);
    this.all.add(connection);
    this.released(connection);
  }

  /** A connection is free: it takes the oldest live queued request, or goes idle. */
  released(connection: Http1Connection): void {
    let next = this.queue.shift();
    while (next?.settled) next = this.queue.shift(); // timed out or aborted while waiting
    if (next) return connection.send(next);
    if (this.draining) return connection.close();
    this.idleConnections.push(connection);
    connection.idle();
  }

  closed(connection: Http1Connection): void {
    this.all.delete(connection);
    const i = this.idleConnections.indexOf(connection);
    if (i !== -1) this.idleConnections.splice(i, 1);
    if (this.queue.length > 0 && !this.draining) this.grow();
  }

  drain(): void {
    this.draining = true;
    for (const c of this.idleConnections.splice(0)) c.close();
  }

  async destroy(): Promise<void> {
    this.draining = true;
    this.destroyed = true;
    for (const exchange of this.queue.splice(0)) exchange.fail(new UpstreamError('UC', `HTTP/1.1 pool to ${this.host.id} closed`));
    for (const c of [...this.all]) c.close();
    this.idleConnections.length = 0;
  }
}
