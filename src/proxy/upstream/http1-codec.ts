/**
 * The HTTP/1.1 wire format of an upstream connection: the request head (one latin1 string, so a request
 * without a body is one write) and an incremental response parser that slices bodies out of the socket's
 * chunks without copying. Strict where framing is at stake (RFC 9112): obs-fold, bad field names,
 * control characters, conflicting Content-Length values and malformed chunk sizes are protocol errors.
 */
import type { HeaderMap } from '../http/filter.js';

/** Envoy's max_response_headers_kb default (60 KiB) plus the status line. */
export const MAX_RESPONSE_HEAD_BYTES = 64 * 1024;
const MAX_CHUNK_LINE_BYTES = 4096;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const EMPTY: Buffer = Buffer.alloc(0);

/** Field values: visible characters, SP and HTAB only (obs-text allowed); no CR, LF or NUL. */
// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const INVALID_VALUE = /[\0-\x08\x0a-\x1f\x7f]/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;[^\r\n]*)?$/;

/** Hop-by-hop response headers: never handed to the caller (RFC 9110 7.6.1). */
const RESPONSE_SKIP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

export class Http1ProtocolError extends Error {
  readonly code = 'HPE_UPSTREAM_PROTOCOL';
}

/** The request head as one string: request line, Host, the headers, the framing header, blank line. */
export function encodeRequestHead(method: string, path: string, authority: string, headers: HeaderMap, skip: ReadonlySet<string>, framing: string): string {
  if (!isToken(method, method.length)) throw new Http1ProtocolError(`invalid request method "${method}"`);
  if (INVALID_VALUE.test(path) || path.includes(' ')) throw new Http1ProtocolError(`invalid request path "${path}"`);
  checkValue('host', authority);
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${authority}\r\n`;
  for (const name in headers) {
    if (skip.has(name) || name.charCodeAt(0) === 58 /* ':' */) continue;
    if (!isToken(name, name.length)) throw new Http1ProtocolError(`invalid header name "${name}"`);
    const value = headers[name]!;
    if (typeof value === 'string') {
      checkValue(name, value);
      head += `${name}: ${value}\r\n`;
    } else {
      for (const v of value) {
        checkValue(name, v);
        head += `${name}: ${v}\r\n`;
      }
    }
  }
  return `${head}${framing}\r\n`;
}

function checkValue(name: string, value: string): void {
  if (INVALID_VALUE.test(value)) throw new Http1ProtocolError(`header "${name}": the value has a control character (CR, LF, NUL)`);
}

/** What the parser hands to its connection. Body chunks are views of the socket's buffers. */
export interface ResponseHandler {
  onResponseHead(status: number, headers: HeaderMap): void;
  onResponseBody(chunk: Buffer): void;
  /** The response ended; `reusable` says whether the connection may carry another request. */
  onResponseComplete(trailers: HeaderMap, reusable: boolean): void;
}

const HEAD = 0;
const LENGTH = 1;
const CHUNK_SIZE_LINE = 2;
const CHUNK_DATA = 3;
const CHUNK_DATA_END = 4;
const TRAILERS = 5;
const UNTIL_CLOSE = 6;
const DONE = 7;

type State = typeof HEAD | typeof LENGTH | typeof CHUNK_SIZE_LINE | typeof CHUNK_DATA | typeof CHUNK_DATA_END | typeof TRAILERS | typeof UNTIL_CLOSE | typeof DONE;

/**
 * One response at a time. `expect(head)` arms it for the next request (a HEAD request's response has no
 * body); `feed` may throw Http1ProtocolError, after which the connection must be closed.
 */
export class ResponseParser {
  private state: State = DONE;
  /** Bytes of an unfinished head, chunk-size line or trailer block, kept as chunks (no copy per arrival). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The last three pending bytes: a CRLFCRLF may straddle them and the next chunk. */
  private tail: Buffer = EMPTY;
  private remaining = 0;
  private headRequest = false;
  private reusable = true;
  private trailers: HeaderMap | undefined;
  /** The server's Keep-Alive: timeout=N hint of the last response, in ms (undefined when none). */
  keepAliveHintMs: number | undefined;

  constructor(private readonly handler: ResponseHandler) {}

  expect(headRequest: boolean): void {
    this.state = HEAD;
    this.stash(undefined);
    this.headRequest = headRequest;
    this.reusable = true;
    this.keepAliveHintMs = undefined;
  }

  /** True while a response body is read until the connection closes (no framing given). */
  get readsUntilClose(): boolean {
    return this.state === UNTIL_CLOSE;
  }

  /** The peer closed: ends a close-delimited body; anything else in flight is a truncated response. */
  finish(): boolean {
    if (this.state !== UNTIL_CLOSE) return false;
    this.state = DONE;
    this.handler.onResponseComplete({}, false);
    return true;
  }

  feed(chunk: Buffer): void {
    if (this.pendingBytes > 0 && this.stillIncomplete(chunk)) return;
    const data = this.pendingBytes > 0 ? Buffer.concat([...this.pending, chunk]) : chunk;
    this.stash(undefined);
    let offset = 0;
    this.trailers = undefined;
    while (offset < data.length && this.trailers === undefined) {
      switch (this.state) {
        case HEAD: {
          const end = data.indexOf(CRLFCRLF, offset);
          if (end === -1) {
            if (data.length - offset > MAX_RESPONSE_HEAD_BYTES) throw new Http1ProtocolError(`response headers exceed ${MAX_RESPONSE_HEAD_BYTES} bytes`);
            this.stash(data.subarray(offset));
            return;
          }
          if (end - offset > MAX_RESPONSE_HEAD_BYTES) throw new Http1ProtocolError(`response headers exceed ${MAX_RESPONSE_HEAD_BYTES} bytes`);
          const head = data.toString('latin1', offset, end);
          offset = end + 4;
          this.parseHead(head);
          break;
        }
        case LENGTH:
          offset = this.body(data, offset);
          if (this.remaining === 0) this.complete({});
          break;
        case CHUNK_SIZE_LINE: {
          const eol = data.indexOf(10, offset);
          if (eol === -1) {
            if (data.length - offset > MAX_CHUNK_LINE_BYTES) throw new Http1ProtocolError('chunk size line too long');
            this.stash(data.subarray(offset));
            return;
          }
          if (eol === offset || data[eol - 1] !== 13) throw new Http1ProtocolError('chunk size line not ended by CRLF');
          const match = CHUNK_SIZE.exec(data.toString('latin1', offset, eol - 1));
          if (!match) throw new Http1ProtocolError('invalid chunk size');
          offset = eol + 1;
          this.remaining = parseInt(match[1]!, 16);
          this.state = this.remaining === 0 ? TRAILERS : CHUNK_DATA;
          break;
        }
        case CHUNK_DATA:
          offset = this.body(data, offset);
          if (this.remaining === 0) this.state = CHUNK_DATA_END;
          break;
        case CHUNK_DATA_END: {
          if (data.length - offset < 2) {
            this.stash(data.subarray(offset));
            return;
          }
          if (data[offset] !== 13 || data[offset + 1] !== 10) throw new Http1ProtocolError('chunk data not followed by CRLF');
          offset += 2;
          this.state = CHUNK_SIZE_LINE;
          break;
        }
        case TRAILERS: {
          // Either CRLF at once (no trailers) or trailer fields up to an empty line.
          if (data.length - offset < 2) {
            this.stash(data.subarray(offset));
            return;
          }
          if (data[offset] === 13 && data[offset + 1] === 10) {
            offset += 2;
            this.complete({});
            break;
          }
          const end = data.indexOf(CRLFCRLF, offset);
          if (end === -1) {
            if (data.length - offset > MAX_RESPONSE_HEAD_BYTES) throw new Http1ProtocolError('response trailers too large');
            this.stash(data.subarray(offset));
            return;
          }
          const trailers: HeaderMap = {};
          scanFields(data.toString('latin1', offset, end), 0, trailers, undefined);
          offset = end + 4;
          this.complete(trailers);
          break;
        }
        case UNTIL_CLOSE:
          this.handler.onResponseBody(offset === 0 ? data : data.subarray(offset));
          return;
        default:
          // Bytes with no request outstanding (or after a response that ends the connection).
          throw new Http1ProtocolError('data received with no response expected');
      }
    }
    const trailers = this.trailers;
    if (trailers === undefined) return;
    this.trailers = undefined;
    // Bytes after the response were not asked for (no pipelining): the connection is not reused.
    if (offset < data.length) this.reusable = false;
    this.handler.onResponseComplete(trailers, this.reusable);
  }

  /** Hands over what `data` holds of the `remaining` body bytes (a view, not a copy); returns the new offset. */
  private body(data: Buffer, offset: number): number {
    const n = Math.min(this.remaining, data.length - offset);
    this.remaining -= n;
    this.handler.onResponseBody(data.subarray(offset, offset + n));
    return offset + n;
  }

  private stash(rest: Buffer | undefined): void {
    this.pending = rest ? [rest] : [];
    this.pendingBytes = rest?.length ?? 0;
    this.tail = rest ? rest.subarray(Math.max(0, rest.length - 3)) : EMPTY;
  }

  /**
   * A slow peer (one byte per segment) must not make the parser copy its pending bytes each time: while
   * the awaited delimiter is not in sight, the chunk is only kept.
   */
  private stillIncomplete(chunk: Buffer): boolean {
    let waiting: boolean;
    let limit: number;
    if (this.state === HEAD || (this.state === TRAILERS && this.pendingBytes >= 2)) {
      waiting = Buffer.concat([this.tail, chunk]).indexOf(CRLFCRLF) === -1;
      limit = MAX_RESPONSE_HEAD_BYTES;
    } else if (this.state === CHUNK_SIZE_LINE) {
      waiting = chunk.indexOf(10) === -1;
      limit = MAX_CHUNK_LINE_BYTES;
    } else return false;
    if (!waiting) return false;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > limit) throw new Http1ProtocolError(this.state === CHUNK_SIZE_LINE ? 'chunk size line too long' : `response headers exceed ${MAX_RESPONSE_HEAD_BYTES} bytes`);
    const joined = Buffer.concat([this.tail, chunk]);
    this.tail = joined.subarray(Math.max(0, joined.length - 3));
    return true;
  }

  /** The response ended inside feed(): reported once feed() has consumed what belongs to it. */
  private complete(trailers: HeaderMap): void {
    this.state = DONE;
    this.trailers = trailers;
  }

  private parseHead(head: string): void {
    const eol = head.indexOf('\r\n');
    const statusLine = eol === -1 ? head : head.slice(0, eol);
    const match = STATUS_LINE.exec(statusLine);
    if (!match) throw new Http1ProtocolError(`invalid status line "${statusLine.slice(0, 64)}"`);
    const http10 = match[1] === '0';
    const status = Number(match[2]);
    const headers: HeaderMap = {};
    const framing: Framing = {};
    if (eol !== -1) scanFields(head, eol + 2, headers, framing);
    const { contentLength, transferEncoding, connection } = framing;
    if (framing.keepAlive !== undefined) {
      const hint = /timeout=(\d+)/i.exec(framing.keepAlive);
      if (hint) this.keepAliveHintMs = Number(hint[1]) * 1000;
    }
    if (status < 200) {
      if (status === 101) throw new Http1ProtocolError('101 Switching Protocols to a request that asked for no upgrade');
      return; // 1xx informational: the final response follows
    }
    // Fields the Connection header names are hop-by-hop too (RFC 9110 7.6.1); Content-Length is not ours to drop.
    if (connection !== undefined) {
      for (const token of connection.toLowerCase().split(',')) {
        const name = token.trim();
        if (name !== 'content-length') delete headers[name];
      }
    }
    const tokens = connection?.toLowerCase();
    if (http10 ? !tokens?.includes('keep-alive') : tokens?.includes('close') === true) this.reusable = false;
    this.handler.onResponseHead(status, headers);
    if (this.headRequest || status === 204 || status === 304) return this.complete({});
    if (transferEncoding !== undefined) {
      // The last coding decides: chunked is framed; anything else runs until the connection closes.
      const codings = transferEncoding.toLowerCase().split(',');
      if (codings[codings.length - 1]!.trim() === 'chunked') {
        // Content-Length beside chunked is ignored (RFC 9112 6.3), but the connection is not trusted again.
        if (contentLength !== undefined) this.reusable = false;
        this.state = CHUNK_SIZE_LINE;
        return;
      }
      this.reusable = false;
      this.state = UNTIL_CLOSE;
      return;
    }
    if (contentLength !== undefined) {
      const list = contentLength.split(',').map((v) => v.trim());
      if (list.some((v) => v !== list[0]) || !/^\d{1,15}$/.test(list[0]!)) throw new Http1ProtocolError(`invalid content-length "${contentLength}"`);
      this.remaining = Number(list[0]);
      if (this.remaining === 0) return this.complete({});
      this.state = LENGTH;
      return;
    }
    this.reusable = false;
    this.state = UNTIL_CLOSE;
  }
}

/** tchar (RFC 9110 5.6.2) by character code. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

function isToken(s: string, end: number): boolean {
  if (end === 0) return false;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** The fields that decide framing and reuse, as they were sent (repeated ones joined with ", "). */
interface Framing {
  contentLength?: string;
  transferEncoding?: string;
  connection?: string;
  keepAlive?: string;
}

function protocolError(message: string): never {
  throw new Http1ProtocolError(message);
}

/**
 * Reads the "name: value" lines of a head or trailer block (CRLF between lines, none after the last) into
 * `map` in one pass over the characters: tchar names (no whitespace before the colon, no obs-fold),
 * optional whitespace around values, and no control character but HTAB (so no bare CR or LF, no NUL).
 * With `framing`, the hop-by-hop fields are kept there instead of in the map.
 */
function scanFields(block: string, start: number, map: HeaderMap, framing: Framing | undefined): void {
  const end = block.length;
  let i = start;
  while (i < end) {
    const lineStart = i;
    let c = block.charCodeAt(i);
    if (c === 32 || c === 9) protocolError('obsolete line folding in a response header');
    let upper = false;
    while (i < end && (c = block.charCodeAt(i)) !== 58 /* ':' */) {
      if (c > 127 || TCHAR[c] === 0) {
        if (c === 13 || c === 10) protocolError(`malformed response header line "${block.slice(lineStart, i).slice(0, 64)}"`);
        protocolError(`invalid response header name "${block.slice(lineStart, Math.min(i + 1, lineStart + 64))}"`);
      }
      if (c >= 65 && c <= 90) upper = true;
      i++;
    }
    if (i === end || i === lineStart) protocolError(`malformed response header line "${block.slice(lineStart, lineStart + 64)}"`);
    const colon = i++;
    while (i < end && ((c = block.charCodeAt(i)) === 32 || c === 9)) i++;
    const valueStart = i;
    let valueEnd = i;
    while (i < end) {
      c = block.charCodeAt(i);
      if (c === 13 && block.charCodeAt(i + 1) === 10) break;
      if ((c < 32 && c !== 9) || c === 127) protocolError('a control character (bare CR or LF, NUL) in a response header');
      i++;
      if (c !== 32 && c !== 9) valueEnd = i;
    }
    const raw = block.slice(lineStart, colon);
    const name = upper ? raw.toLowerCase() : raw;
    const value = block.slice(valueStart, valueEnd);
    i += 2;
    if (framing && recordFraming(framing, name, value)) continue;
    const prev = map[name];
    if (prev === undefined) map[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else map[name] = [prev, value];
  }
}

/** Notes a framing field; true for the hop-by-hop ones, which stay out of the caller's map. */
function recordFraming(framing: Framing, name: string, value: string): boolean {
  switch (name) {
    case 'content-length':
      if (framing.contentLength !== undefined && framing.contentLength !== value) protocolError('conflicting content-length values');
      framing.contentLength = value;
      return false;
    case 'transfer-encoding':
      framing.transferEncoding = framing.transferEncoding === undefined ? value : `${framing.transferEncoding}, ${value}`;
      return true;
    case 'connection':
      framing.connection = framing.connection === undefined ? value : `${framing.connection}, ${value}`;
      return true;
    case 'keep-alive':
      framing.keepAlive = value;
      return true;
    default:
      return RESPONSE_SKIP.has(name);
  }
}
