/**
 * envoy.filters.listener.tls_inspector: reads the TLS ClientHello from the first bytes of a connection
 * to learn the SNI and ALPN list, without consuming them (the caller replays the bytes).
 *
 * A ClientHello is one handshake message, but it may be split over several TLS records (a record holds
 * at most 16 KiB, so a large hello — many cipher suites, ALPN names, a post-quantum key_share — always
 * is) and each record over any number of TCP segments. The reader reassembles the message whatever the
 * cut, and reads the extensions only from the whole message: a TLS 1.3-only hello (supported_versions
 * without 1.2) is read like any other (CVE-2020-8660: Envoy's inspector failed on those and the
 * connection fell through to a filter chain without SNI).
 */
export type ClientHelloResult =
  | { kind: 'need-more' }
  | { kind: 'not-tls' }
  /** Larger than MAX_CLIENT_HELLO_BYTES: Envoy closes the connection (client_hello_too_large). */
  | { kind: 'too-large' }
  | { kind: 'tls'; serverName?: string; alpn: string[] };

const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
const RECORD_HEADER = 5;
const HANDSHAKE_HEADER = 4;
/** Envoy's TLS_MAX_CLIENT_HELLO: bytes read before the inspector gives up on a connection. */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

const NEED_MORE: ClientHelloResult = { kind: 'need-more' };
const NOT_TLS: ClientHelloResult = { kind: 'not-tls' };
const TOO_LARGE: ClientHelloResult = { kind: 'too-large' };
/** TLS by its record header, but no readable ClientHello: nothing to match on. */
const TLS_UNREADABLE: ClientHelloResult = { kind: 'tls', alpn: [] };

/**
 * Feeds the bytes of a connection as they arrive. Work per push is proportional to the new bytes
 * (buffers are joined once per record, not once per segment), so a client trickling one byte per
 * segment costs no more than one that sends the hello at once.
 */
export class ClientHelloReader {
  private chunks: Buffer[] = [];
  /** Unconsumed bytes in `chunks`. */
  private buffered = 0;
  private seen = 0;
  /** Length of the record whose body is awaited; undefined while a record header is awaited. */
  private recordLength: number | undefined;
  private firstRecord = true;
  private readonly fragments: Buffer[] = [];
  private fragmentBytes = 0;
  /** The ClientHello's length with its handshake header, once the header is in. */
  private messageLength: number | undefined;
  private result: ClientHelloResult | undefined;
  /** Whether the hello's declared length was checked before its first record completed. */
  private lengthChecked = false;

  push(chunk: Buffer): ClientHelloResult {
    if (this.result) return this.result;
    if (chunk.length === 0) return NEED_MORE;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.seen += chunk.length;
    const result = this.run();
    if (result) return (this.result = result);
    return this.seen >= MAX_CLIENT_HELLO_BYTES ? (this.result = TOO_LARGE) : NEED_MORE;
  }

  private run(): ClientHelloResult | undefined {
    for (;;) {
      if (this.recordLength === undefined) {
        if (this.firstRecord) {
          // Decide "not TLS" from the first bytes, as soon as they are in (a short plaintext request must not wait).
          const head = this.peek(Math.min(this.buffered, 2));
          if (head[0] !== HANDSHAKE || (head.length > 1 && head[1] !== 0x03)) return NOT_TLS;
        }
        if (this.buffered < RECORD_HEADER) return undefined;
        const header = this.take(RECORD_HEADER);
        // Only handshake records may carry the ClientHello; anything else before it is a broken hello.
        if (header[0] !== HANDSHAKE || header[1] !== 0x03) return this.firstRecord ? NOT_TLS : TLS_UNREADABLE;
        this.firstRecord = false;
        this.recordLength = header.readUInt16BE(3);
      }
      if (!this.lengthChecked && this.recordLength >= HANDSHAKE_HEADER && this.buffered >= HANDSHAKE_HEADER) {
        // The hello's length is known from its first bytes: refuse an oversized one without waiting for it.
        this.lengthChecked = true;
        const head = this.peek(HANDSHAKE_HEADER);
        if (head[0] === CLIENT_HELLO && HANDSHAKE_HEADER + head.readUIntBE(1, 3) > MAX_CLIENT_HELLO_BYTES) return TOO_LARGE;
      }
      if (this.buffered < this.recordLength) return undefined;
      const fragment = this.take(this.recordLength);
      this.recordLength = undefined;
      this.fragments.push(fragment);
      this.fragmentBytes += fragment.length;
      if (this.messageLength === undefined && this.fragmentBytes >= HANDSHAKE_HEADER) {
        const head = this.fragments.length === 1 ? fragment : Buffer.concat(this.fragments);
        if (head[0] !== CLIENT_HELLO) return TLS_UNREADABLE;
        this.messageLength = HANDSHAKE_HEADER + head.readUIntBE(1, 3);
        if (this.messageLength > MAX_CLIENT_HELLO_BYTES) return TOO_LARGE;
      }
      if (this.messageLength !== undefined && this.fragmentBytes >= this.messageLength) {
        const message = Buffer.concat(this.fragments, this.fragmentBytes).subarray(0, this.messageLength);
        try {
          return parseHandshake(message);
        } catch {
          return TLS_UNREADABLE; // malformed: still TLS by its record header, but nothing to match on
        }
      }
    }
  }

  /** The first n unconsumed bytes (n <= buffered), without consuming them. */
  private peek(n: number): Buffer {
    let first = this.chunks[0] as Buffer;
    if (first.length < n) {
      first = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [first];
    }
    return first.subarray(0, n);
  }

  /** Consumes n bytes (n <= buffered), joining chunks only when n spans more than one. */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    let first = this.chunks[0] as Buffer;
    if (first.length < n) {
      first = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [first];
    }
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}

/** Reads a ClientHello from the bytes received so far (all of them, from the first). */
export function parseClientHello(data: Buffer): ClientHelloResult {
  return new ClientHelloReader().push(data);
}

/** The ClientHello message (handshake header included): SNI and ALPN from its extensions. */
function parseHandshake(body: Buffer): ClientHelloResult {
  let p = HANDSHAKE_HEADER;
  p += 2 + 32; // client_version + random
  p += 1 + (body[p] as number); // session_id
  p += 2 + body.readUInt16BE(p); // cipher_suites
  p += 1 + (body[p] as number); // compression_methods
  if (p + 2 > body.length) return TLS_UNREADABLE;
  const extensionsEnd = p + 2 + body.readUInt16BE(p);
  if (extensionsEnd > body.length) return TLS_UNREADABLE;
  p += 2;
  let serverName: string | undefined;
  const alpn: string[] = [];
  while (p + 4 <= extensionsEnd) {
    const type = body.readUInt16BE(p);
    const length = body.readUInt16BE(p + 2);
    if (p + 4 + length > extensionsEnd) return TLS_UNREADABLE;
    const ext = body.subarray(p + 4, p + 4 + length);
    p += 4 + length;
    if (type === EXT_SERVER_NAME && ext.length >= 5) {
      // server_name_list: length(2), then entries of type(1) length(2) name
      let q = 2;
      while (q + 3 <= ext.length) {
        const nameType = ext[q];
        const nameLength = ext.readUInt16BE(q + 1);
        if (nameType === 0) serverName = ext.subarray(q + 3, q + 3 + nameLength).toString('latin1').toLowerCase();
        q += 3 + nameLength;
      }
    } else if (type === EXT_ALPN && ext.length >= 2) {
      let q = 2;
      while (q < ext.length) {
        const l = ext[q] as number;
        alpn.push(ext.subarray(q + 1, q + 1 + l).toString('latin1'));
        q += 1 + l;
      }
    }
  }
  return serverName === undefined ? { kind: 'tls', alpn } : { kind: 'tls', serverName, alpn };
}
