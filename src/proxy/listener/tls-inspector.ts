/**
 * envoy.filters.listener.tls_inspector: reads the TLS ClientHello from the first bytes of a connection
 * to learn the SNI and ALPN list, without consuming them (the caller replays the bytes).
 */
export type ClientHelloResult =
  | { kind: 'need-more' }
  | { kind: 'not-tls' }
  | { kind: 'tls'; serverName?: string; alpn: string[] };

const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
/** Envoy's default initial read buffer; a ClientHello larger than one record is not inspected. */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

export function parseClientHello(data: Buffer): ClientHelloResult {
  if (data.length < 1) return { kind: 'need-more' };
  if (data[0] !== HANDSHAKE) return { kind: 'not-tls' };
  if (data.length < 5) return { kind: 'need-more' };
  if (data[1] !== 0x03) return { kind: 'not-tls' };
  const recordLength = data.readUInt16BE(3);
  if (data.length < 5 + recordLength) return data.length >= MAX_CLIENT_HELLO_BYTES ? { kind: 'not-tls' } : { kind: 'need-more' };
  try {
    return parseHandshake(data.subarray(5, 5 + recordLength));
  } catch {
    // Truncated or malformed: still TLS by its record header, but nothing to match on.
    return { kind: 'tls', alpn: [] };
  }
}

function parseHandshake(body: Buffer): ClientHelloResult {
  if (body[0] !== CLIENT_HELLO) return { kind: 'tls', alpn: [] };
  let p = 4; // type(1) + length(3)
  p += 2 + 32; // client_version + random
  p += 1 + (body[p] as number); // session_id
  p += 2 + body.readUInt16BE(p); // cipher_suites
  p += 1 + (body[p] as number); // compression_methods
  if (p + 2 > body.length) return { kind: 'tls', alpn: [] };
  const extensionsEnd = p + 2 + body.readUInt16BE(p);
  p += 2;
  let serverName: string | undefined;
  const alpn: string[] = [];
  while (p + 4 <= extensionsEnd) {
    const type = body.readUInt16BE(p);
    const length = body.readUInt16BE(p + 2);
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
