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

// RFC 9110 5.1 token characters; a field-value (5.5) has no CR, LF, NUL or other control but HTAB.
const TOKEN_CHARS = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN_CHARS[c.charCodeAt(0)] = 1;
/** RFC 3986 authority characters (host, port, userinfo, IP literal), as Envoy's authority check allows. */
const AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]+$/;
/** RFC 9113 8.2.2: these make an HTTP/2 request malformed. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** An HTTP/2 field name: a token, lower case. */
function validHttp2Name(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || TOKEN_CHARS[c] === 0 || (c >= 65 && c <= 90)) return false;
  }
  return true;
}

/** An HTTP/2 field value HTTP/1 can carry as is: no controls but HTAB, no surrounding whitespace. */
function validHttp2Value(value: string): boolean {
  const last = value.length - 1;
  for (let i = 0; i <= last; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
    // HTTP/1 would strip this whitespace, so the two hops would disagree on the value.
    if ((i === 0 || i === last) && (c === 0x20 || c === 0x09)) return false;
  }
  return true;
}

/**
 * The first reason to refuse the request, or undefined when it may proceed. On HTTP/1, Node's strict
 * llhttp has already refused bad names and values (the parser is never lenient here), so only the
 * limits and framing are checked; on HTTP/2 every field is.
 */
export function validateRequest(req: IncomingMessage | Http2ServerRequest, http2: boolean, limits: RequestLimits): Rejection | undefined {
  const codec = http2 ? 'http2' : 'http1';
  const raw = req.rawHeaders;
  let count = 0;
  let bytes = 0;
  let transferEncodings: string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    bytes += name.length + value.length;
    if (http2) {
      if (name.charCodeAt(0) === 58 /* ':' */) continue;
      if (!validHttp2Name(name)) return { status: 400, details: 'http2.invalid_header_name' };
      if (!validHttp2Value(value)) return { status: 400, details: 'http2.invalid_header_value' };
      if (CONNECTION_SPECIFIC.has(name) || (name === 'te' && value.toLowerCase() !== 'trailers')) return { status: 400, details: 'http2.connection_specific_header' };
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      (transferEncodings ??= []).push(value);
    }
    count++;
  }
  if (count > limits.maxHeadersCount) return { status: 431, details: `${codec}.too_many_headers` };
  if (bytes > limits.maxHeadersBytes) return { status: 431, details: `${codec}.headers_too_large` };
  if (transferEncodings) {
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
