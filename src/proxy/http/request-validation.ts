/**
 * What Envoy's codecs refuse before a request reaches any filter, for the checks Node's strict llhttp
 * (and nghttp2) leave to the application: header count and size limits (431), transfer codings other
 * than a single `chunked` (501), Transfer-Encoding on HTTP/1.0, header names and values that are not
 * valid HTTP/1 (so an HTTP/2 request cannot carry them to an HTTP/1 upstream), connection-specific
 * headers on HTTP/2, and an invalid Host/:authority.
 */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { HttpConnectionManager } from '../../envoy/index.js';

export interface RequestLimits {
  /** common_http_protocol_options.max_headers_count (Envoy's default 100); pseudo-headers not counted. */
  readonly maxHeadersCount: number;
  /** max_request_headers_kb (Envoy's default 60) in bytes: names plus values. */
  readonly maxHeadersBytes: number;
}

export interface Rejection {
  readonly status: 400 | 431 | 501;
  /** %RESPONSE_CODE_DETAILS%, named as Envoy's codecs name them. */
  readonly details: string;
}

const DEFAULT_MAX_HEADERS_COUNT = 100;
const DEFAULT_MAX_REQUEST_HEADERS_KB = 60;
/** Envoy's bound on max_request_headers_kb (validate.rules lte 8192). */
const MAX_REQUEST_HEADERS_KB = 8192;

/** The HCM's limits; throws naming the field when one is out of range. */
export function requestLimits(config: HttpConnectionManager, path: string): RequestLimits {
  const kb = config.max_request_headers_kb ?? DEFAULT_MAX_REQUEST_HEADERS_KB;
  if (!Number.isInteger(kb) || kb < 1 || kb > MAX_REQUEST_HEADERS_KB) {
    throw new Error(`${path}.max_request_headers_kb: ${kb} is out of range; use 1..${MAX_REQUEST_HEADERS_KB} (KiB, default ${DEFAULT_MAX_REQUEST_HEADERS_KB})`);
  }
  const count = config.common_http_protocol_options?.max_headers_count ?? DEFAULT_MAX_HEADERS_COUNT;
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`${path}.common_http_protocol_options.max_headers_count: ${count} is out of range; use 1 or more (default ${DEFAULT_MAX_HEADERS_COUNT})`);
  }
  return { maxHeadersCount: count, maxHeadersBytes: kb * 1024 };
}

// RFC 9110 5.1 token, and 5.5 field-value (VCHAR, SP, HTAB, obs-text): no CR, LF, NUL or other controls.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const INVALID_VALUE_CHAR = /[\x00-\x08\x0a-\x1f\x7f]/;
/** RFC 3986 authority characters (host, port, userinfo, IP literal), as Envoy's authority check allows. */
const AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]+$/;
/** RFC 9113 8.2.2: these make an HTTP/2 request malformed. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** The first reason to refuse the request, or undefined when it may proceed. */
export function validateRequest(req: IncomingMessage | Http2ServerRequest, http2: boolean, limits: RequestLimits): Rejection | undefined {
  const codec = http2 ? 'http2' : 'http1';
  const raw = req.rawHeaders;
  let count = 0;
  let bytes = 0;
  const transferEncodings: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    bytes += name.length + value.length;
    if (http2 && name.charCodeAt(0) === 58 /* ':' */) continue;
    count++;
    if (!TOKEN.test(name) || (http2 && name !== name.toLowerCase())) return { status: 400, details: `${codec}.invalid_header_name` };
    if (INVALID_VALUE_CHAR.test(value)) return { status: 400, details: `${codec}.invalid_header_value` };
    const lower = name.toLowerCase();
    if (http2) {
      if (CONNECTION_SPECIFIC.has(lower) || (lower === 'te' && value.trim().toLowerCase() !== 'trailers')) return { status: 400, details: 'http2.connection_specific_header' };
      // HTTP/1 would strip this whitespace, so the two hops would disagree on the value.
      if (/^[ \t]|[ \t]$/.test(value)) return { status: 400, details: 'http2.invalid_header_value' };
    } else if (lower === 'transfer-encoding') transferEncodings.push(value);
  }
  if (count > limits.maxHeadersCount) return { status: 431, details: `${codec}.too_many_headers` };
  if (bytes > limits.maxHeadersBytes) return { status: 431, details: `${codec}.headers_too_large` };
  if (transferEncodings.length > 0) {
    // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means the framing is faulty.
    if (req.httpVersion === '1.0') return { status: 400, details: 'http1.transfer_encoding_not_allowed' };
    // Envoy implements one coding, chunked; anything else (gzip, chunked / two header lines) is 501.
    if (transferEncodings.length !== 1 || transferEncodings[0]?.trim().toLowerCase() !== 'chunked') return { status: 501, details: 'http1.invalid_transfer_encoding' };
  }
  return undefined;
}

/** Host/:authority must be an RFC 3986 authority: no spaces, quotes, controls or path characters. */
export function validAuthority(authority: string): boolean {
  return AUTHORITY.test(authority);
}

/**
 * HTTP/1 connections that end after the current response (a refused request): requests Node already
 * parsed behind it on the same connection are not run, and a parse error in the bytes after it gets no
 * second answer, as Envoy stops reading there. (llhttp itself refuses data after `connection: close`.)
 */
const closing = new WeakSet<object>();

export function closeAfterResponse(req: IncomingMessage | Http2ServerRequest): void {
  if (req.httpVersion !== '2.0') closing.add(req.socket);
}

export function connectionClosing(req: IncomingMessage | Http2ServerRequest): boolean {
  return req.httpVersion !== '2.0' && closing.has(req.socket);
}

/** For the codec's error handler: the connection already has its last response on the way. */
export function socketClosing(socket: object): boolean {
  return closing.has(socket);
}
