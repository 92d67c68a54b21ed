/**
 * The connection manager's connection-level limits and timeouts, as node's HTTP/1 and HTTP/2 servers
 * take them, with Envoy's field names and defaults (edge-safe where Envoy's best-practice guide says so).
 */
import { constants } from 'node:http2';
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import { durationMs } from '../../envoy/index.js';
import type { HttpConnectionManager } from '../../envoy/index.js';
import { DEFAULT_HTTP2_GUARD_LIMITS, guardHttp2Session } from '../http/http2-guard.js';
import type { Http2GuardStats } from '../http/http2-guard.js';
import type { Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Counter, StatsStore } from '../stats.js';

/** Envoy's edge guidance: 100 concurrent streams per HTTP/2 connection (Envoy's own default is 2^31-1). */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 100;
/** Envoy's defaults for both windows: 256 MiB (edge guidance lowers them to 64 KiB / 1 MiB). */
export const DEFAULT_INITIAL_STREAM_WINDOW_SIZE = 268_435_456;
export const DEFAULT_INITIAL_CONNECTION_WINDOW_SIZE = 268_435_456;
/** HTTP/1 request headers must arrive within this unless request_headers_timeout says otherwise (slowloris). */
export const DEFAULT_REQUEST_HEADERS_TIMEOUT_MS = 60_000;
/** Envoy's stream_idle_timeout default: 5 minutes. */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;
/** Envoy's common_http_protocol_options.idle_timeout default: 1 hour. */
export const DEFAULT_IDLE_TIMEOUT_MS = 3_600_000;

/** A duration field where 0 means "disabled" (Envoy's convention for these timeouts). */
function timeout(value: HttpConnectionManager['request_timeout'], fallback: number): number {
  const ms = durationMs(value);
  return ms === undefined ? fallback : ms;
}

export interface HcmTimeouts {
  /** common_http_protocol_options.idle_timeout: a connection with no active stream for this long is closed. */
  readonly idleMs: number;
  /** request_timeout: the whole request must be received in this time (408); 0 = off. */
  readonly requestMs: number;
  /** request_headers_timeout: the request headers must be received in this time (408). */
  readonly requestHeadersMs: number;
  /** stream_idle_timeout: a stream with no activity for this long is reset (408 before the response). */
  readonly streamIdleMs: number;
}

export function hcmTimeouts(config: HttpConnectionManager): HcmTimeouts {
  const requestMs = timeout(config.request_timeout, 0);
  let requestHeadersMs = timeout(config.request_headers_timeout, DEFAULT_REQUEST_HEADERS_TIMEOUT_MS);
  // node requires headersTimeout <= requestTimeout; a whole-request limit bounds the headers too.
  if (requestMs > 0 && (requestHeadersMs === 0 || requestHeadersMs > requestMs)) requestHeadersMs = requestMs;
  return {
    idleMs: timeout(config.common_http_protocol_options?.idle_timeout, DEFAULT_IDLE_TIMEOUT_MS),
    requestMs,
    requestHeadersMs,
    streamIdleMs: timeout(config.stream_idle_timeout, DEFAULT_STREAM_IDLE_TIMEOUT_MS),
  };
}

/**
 * node:http server options for the timeouts: node answers 408 itself for request_timeout and
 * request_headers_timeout, checking open connections every connectionsCheckingInterval ms, so the
 * interval follows the shortest timeout.
 */
export function http1TimeoutOptions(t: HcmTimeouts): { requestTimeout: number; headersTimeout: number; keepAliveTimeout: number; connectionsCheckingInterval: number } {
  const shortest = Math.min(...[t.requestMs, t.requestHeadersMs].filter((ms) => ms > 0), 30_000);
  return {
    requestTimeout: t.requestMs,
    // 0 would mean node's default (60 s); "disabled" is as long as node allows.
    headersTimeout: t.requestHeadersMs > 0 ? t.requestHeadersMs : 2_147_483_647,
    keepAliveTimeout: t.idleMs,
    connectionsCheckingInterval: Math.max(50, Math.floor(shortest / 4)),
  };
}

/** SETTINGS the server advertises, from http2_protocol_options. */
export function http2Settings(config: HttpConnectionManager): { maxConcurrentStreams: number; initialWindowSize: number } {
  const h2 = config.http2_protocol_options ?? {};
  return {
    maxConcurrentStreams: h2.max_concurrent_streams ?? DEFAULT_MAX_CONCURRENT_STREAMS,
    initialWindowSize: h2.initial_stream_window_size ?? DEFAULT_INITIAL_STREAM_WINDOW_SIZE,
  };
}

/**
 * Per-session setup: the connection-level receive window (initial_connection_window_size, sent as a
 * WINDOW_UPDATE on stream 0), the idle timeout, and the abuse guard. Returns the function the
 * connection manager calls for each new session.
 */
export function http2SessionSetup(config: HttpConnectionManager, stats: StatsStore, prefix: string, t: HcmTimeouts): (session: ServerHttp2Session) => void {
  const windowSize = config.http2_protocol_options?.initial_connection_window_size ?? DEFAULT_INITIAL_CONNECTION_WINDOW_SIZE;
  const guardStats: Http2GuardStats = {
    rxReset: stats.counter(`${prefix}downstream_rq_rx_reset`),
    tooManyPrematureResets: stats.counter(`${prefix}downstream_rq_too_many_premature_resets`),
    controlFrameFlood: stats.counter(`${prefix}downstream_cx_control_frame_flood`),
  };
  const idleTimeouts = stats.counter(`${prefix}downstream_cx_idle_timeout`);
  const streamIdleTimeouts = stats.counter(`${prefix}downstream_rq_idle_timeout`);
  return (session) => {
    guardHttp2Session(session, DEFAULT_HTTP2_GUARD_LIMITS, guardStats);
    const applyWindow = () => {
      if (!session.destroyed) session.setLocalWindowSize(windowSize);
    };
    if (session.connecting) session.once('connect', applyWindow);
    else applyWindow();
    // idle_timeout counts from the moment the connection has no active stream (Envoy's definition),
    // and ends it gracefully with GOAWAY.
    let active = 0;
    let idleTimer: NodeJS.Timeout | undefined;
    const armIdle = () => {
      if (t.idleMs <= 0 || session.destroyed) return;
      idleTimer = setTimeout(() => {
        idleTimeouts.inc();
        session.close();
      }, t.idleMs);
      idleTimer.unref();
    };
    armIdle();
    session.once('close', () => clearTimeout(idleTimer));
    session.on('stream', (stream: ServerHttp2Stream) => {
      active++;
      clearTimeout(idleTimer);
      stream.once('close', () => {
        if (--active === 0) armIdle();
      });
      // stream_idle_timeout: no frame on the stream for this long; 408 if nothing was answered yet.
      if (t.streamIdleMs > 0) {
        stream.setTimeout(t.streamIdleMs, () => {
          streamIdleTimeouts.inc();
          if (!stream.headersSent && !stream.destroyed) {
            stream.respond({ ':status': 408, 'content-length': '14', 'content-type': 'text/plain' });
            stream.end('stream timeout');
          } else stream.close(constants.NGHTTP2_CANCEL);
        });
      }
    });
  };
}

/** node found an HTTP/1 request over request_timeout / request_headers_timeout: 408, then close. */
export function requestTimedOut(socket: Duplex, counter: Counter): void {
  counter.inc();
  if (socket.writable) socket.end('HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  else socket.destroy();
}

/**
 * node checks request_timeout / request_headers_timeout on a timer it starts when a server starts
 * listening. The connection manager's server never listens (the listener hands it connections), so the
 * checks run while it has HTTP/1 connections: started with the first, stopped after the last (a
 * connection manager replaced by a listener update then holds no timer once its connections end).
 */
export function http1TimeoutChecks(server: HttpServer): (socket: Duplex) => void {
  let open = 0;
  return (socket) => {
    if (open++ === 0) server.emit('listening');
    socket.once('close', () => {
      // close() on a server that never listened only stops the checks (and closes idle connections: none).
      if (--open === 0) server.close(() => undefined);
    });
  };
}
