/**
 * One upstream request/response, shared by both codecs: circuit-breaker and stats accounting, the
 * per-try timeout, the abort signal, and the UpstreamResponse the caller receives. The exchange object
 * itself is the response, so a request allocates one object here (plus the codec's own).
 */
import type { Readable } from 'node:stream';
import type { HeaderMap } from '../http/filter.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { ClusterStats } from './cluster-stats.js';
import type { Host } from './host.js';
import { UpstreamError } from './types.js';
import type { UpstreamRequest, UpstreamResponse } from './types.js';

const WAITING = 0; // request sent (or queued), no response headers yet
const STREAMING = 1; // response headers delivered, body flowing
const DONE = 2;

const EMPTY_HEADERS: HeaderMap = Object.freeze({}) as HeaderMap;

function onTimeout(exchange: Exchange): void {
  exchange.timedOut();
}

export interface ExchangeContext {
  readonly clusterName: string;
  readonly stats: ClusterStats;
  readonly breaker: CircuitBreaker;
}

export abstract class Exchange implements UpstreamResponse {
  status = 0;
  headers: HeaderMap = EMPTY_HEADERS;
  abstract readonly body: Readable;
  abstract readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  /** Settles with this exchange once response headers arrive, or with the failure. */
  readonly response: Promise<UpstreamResponse>;

  protected state = WAITING;
  private pending: boolean;
  private resolveResponse!: (r: UpstreamResponse) => void;
  private rejectResponse!: (err: unknown) => void;
  private timer: NodeJS.Timeout | undefined;
  private trailerMap: HeaderMap | undefined;
  private failure: unknown;
  private trailersPromise: Promise<HeaderMap> | undefined;
  private resolveTrailers: ((t: HeaderMap) => void) | undefined;
  private rejectTrailers: ((err: unknown) => void) | undefined;

  constructor(protected readonly ctx: ExchangeContext, readonly host: Host, protected readonly request: UpstreamRequest, pending: boolean) {
    this.response = new Promise<UpstreamResponse>((resolve, reject) => {
      this.resolveResponse = resolve;
      this.rejectResponse = reject;
    });
    this.pending = pending;
    const { stats, breaker } = ctx;
    stats.rqTotal.inc();
    stats.rqActive.inc();
    breaker.requests++;
    host.activeRequests++;
    host.rqTotal++;
    if (pending) {
      breaker.pendingRequests++;
      stats.rqPendingTotal.inc();
      stats.rqPendingActive.inc();
    }
    if (request.timeoutMs !== undefined && request.timeoutMs > 0) this.timer = setTimeout(onTimeout, request.timeoutMs, this);
    request.signal?.addEventListener('abort', this);
  }

  /** Lazily created: most callers that do not use trailers never pay for the promise. */
  get trailers(): Promise<HeaderMap> {
    if (!this.trailersPromise) {
      if (this.trailerMap) this.trailersPromise = Promise.resolve(this.trailerMap);
      else if (this.state === DONE) this.trailersPromise = Promise.reject(this.failure);
      else {
        this.trailersPromise = new Promise<HeaderMap>((resolve, reject) => {
          this.resolveTrailers = resolve;
          this.rejectTrailers = reject;
        });
      }
    }
    return this.trailersPromise;
  }

  get settled(): boolean {
    return this.state === DONE;
  }

  /** Response headers were delivered: the caller owns the body now. */
  protected get streaming(): boolean {
    return this.state === STREAMING;
  }

  /** The codec closes its stream or request: the exchange already failed or was abandoned. */
  protected abstract abortUpstream(err: Error): void;

  /** The request got a connection (it is no longer pending in Envoy's sense). */
  dispatched(): void {
    if (!this.pending) return;
    this.pending = false;
    this.ctx.breaker.pendingRequests--;
    this.ctx.stats.rqPendingActive.dec();
  }

  protected responseHeaders(status: number, headers: HeaderMap): void {
    if (this.state !== WAITING) return;
    this.state = STREAMING;
    this.dispatched();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.status = status;
    this.headers = headers;
    this.ctx.stats.response(status);
    if (status >= 500) this.host.rqError++;
    else this.host.rqSuccess++;
    this.resolveResponse(this);
  }

  protected completed(trailers: HeaderMap): void {
    if (this.state !== STREAMING) return;
    this.state = DONE;
    this.trailerMap = trailers;
    this.ctx.stats.rqCompleted.inc();
    this.release();
    this.resolveTrailers?.(trailers);
  }

  /** Fails the exchange once: before headers the response promise rejects, after them the body errors. */
  fail(err: Error): void {
    if (this.state === DONE) return;
    const streaming = this.state === STREAMING;
    this.state = DONE;
    this.failure = err;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!streaming) this.host.rqError++;
    this.release();
    this.abortUpstream(err);
    if (streaming) {
      if (!this.body.destroyed) this.body.destroy(err);
      this.rejectTrailers?.(err);
    } else {
      this.rejectResponse(err);
    }
  }

  timedOut(): void {
    if (this.state !== WAITING) return;
    this.ctx.stats.rqTimeout.inc();
    this.host.rqTimeout++;
    this.fail(new UpstreamError('UT', `upstream per-try timeout (${this.request.timeoutMs} ms) to ${this.host.id} in cluster "${this.ctx.clusterName}"`));
  }

  /** The request's AbortSignal fired (EventListener object form: no closure per request). */
  handleEvent(): void {
    const reason = this.request.signal?.reason as unknown;
    this.ctx.stats.rqTxReset.inc();
    this.fail(reason instanceof Error ? reason : new DOMException('the request was aborted', 'AbortError'));
  }

  private release(): void {
    this.dispatched();
    const { stats, breaker } = this.ctx;
    stats.rqActive.dec();
    breaker.requests--;
    this.host.activeRequests--;
    this.request.signal?.removeEventListener('abort', this);
    this.released();
  }

  /** Codec-specific bookkeeping once the exchange is over (pool counters). */
  protected released(): void {}
}
