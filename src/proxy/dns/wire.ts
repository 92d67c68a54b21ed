/**
 * The part of the DNS wire format (RFC 1035) the proxy's DNS server needs: read one question, write an
 * answer with A/AAAA records or an error code. Everything it does not answer itself is forwarded as the
 * client's bytes, so EDNS, DNSSEC and other record types pass through untouched.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const CLASS_IN = 1;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

const HEADER = 12;
const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const RA = 0x0080;
/** Largest UDP answer without EDNS (RFC 1035 4.2.1); a longer one is sent truncated, the client retries over TCP. */
export const MAX_UDP_ANSWER = 512;

export interface DnsQuestion {
  /** Lower case, without the trailing dot. */
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

export interface DnsQuery {
  readonly id: number;
  readonly flags: number;
  readonly opcode: number;
  readonly question: DnsQuestion;
  /** The question section as received (the answer repeats it). */
  readonly questionBytes: Buffer;
}

/** The id of a message, or undefined when it is shorter than a header. */
export function messageId(message: Buffer): number | undefined {
  return message.length >= HEADER ? message.readUInt16BE(0) : undefined;
}

/**
 * A standard query with exactly one question, or undefined for anything else (a response, another
 * opcode, several questions, a malformed name): the caller forwards or refuses those.
 */
export function parseQuery(message: Buffer): DnsQuery | undefined {
  if (message.length < HEADER) return undefined;
  const flags = message.readUInt16BE(2);
  const opcode = (flags >> 11) & 0xf;
  if ((flags & QR) !== 0 || opcode !== 0 || message.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let offset = HEADER;
  let length = 0;
  for (;;) {
    const size = message[offset];
    if (size === undefined) return undefined;
    offset += 1;
    if (size === 0) break;
    // A compression pointer (or a reserved label type) has no place in a query's only question.
    if (size > 63 || offset + size > message.length) return undefined;
    length += size + 1;
    if (length > 255) return undefined;
    labels.push(message.toString('latin1', offset, offset + size));
    offset += size;
  }
  if (offset + 4 > message.length) return undefined;
  const question = { name: labels.join('.').toLowerCase(), type: message.readUInt16BE(offset), class: message.readUInt16BE(offset + 2) };
  return { id: message.readUInt16BE(0), flags, opcode, question, questionBytes: message.subarray(HEADER, offset + 4) };
}

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

function ipv6Bytes(ip: string): Buffer {
  let text = ip;
  const out = Buffer.alloc(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipv4Bytes(v4[1] as string);
    text = `${text.slice(0, -(v4[1] as string).length)}${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = [...headGroups, ...new Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** The record data of an address, or undefined when it is not of the question's type. */
export function addressData(type: number, ip: string): Buffer | undefined {
  if (type === TYPE_A && isIPv4(ip)) return ipv4Bytes(ip);
  if (type === TYPE_AAAA && isIPv6(ip)) return ipv6Bytes(ip);
  return undefined;
}

export interface AnswerOptions {
  readonly rcode?: number;
  /** Records of the question's name, type and class. */
  readonly records?: readonly Buffer[];
  readonly ttl?: number;
  /** Answers from the proxy's own table are authoritative (AA), as istio-agent's are. */
  readonly authoritative?: boolean;
  /** UDP: a message longer than 512 bytes goes out without records and with TC set. */
  readonly maxSize?: number;
}

/** An answer to `query`: its id, opcode, RD and question, RA set, and the given records (name by pointer to the question). */
export function buildAnswer(query: DnsQuery, options: AnswerOptions = {}): Buffer {
  const records = options.records ?? [];
  const ttl = options.ttl ?? 30;
  const build = (list: readonly Buffer[], truncated: boolean): Buffer => {
    const header = Buffer.alloc(HEADER);
    header.writeUInt16BE(query.id, 0);
    header.writeUInt16BE(QR | (query.opcode << 11) | (options.authoritative ? AA : 0) | (truncated ? TC : 0) | (query.flags & RD) | RA | ((options.rcode ?? RCODE.NOERROR) & 0xf), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(list.length, 6);
    const answers = list.map((data) => {
      const rr = Buffer.alloc(12 + data.length);
      rr.writeUInt16BE(0xc000 | HEADER, 0);
      rr.writeUInt16BE(query.question.type, 2);
      rr.writeUInt16BE(query.question.class, 4);
      rr.writeUInt32BE(ttl, 6);
      rr.writeUInt16BE(data.length, 10);
      data.copy(rr, 12);
      return rr;
    });
    return Buffer.concat([header, query.questionBytes, ...answers]);
  };
  const full = build(records, false);
  return options.maxSize !== undefined && full.length > options.maxSize ? build([], true) : full;
}

/** An error answer to a message that is not a query we can read: its id and flags, no question. */
export function errorAnswer(message: Buffer, rcode: number): Buffer | undefined {
  if (message.length < HEADER) return undefined;
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(message.readUInt16BE(0), 0);
  const flags = message.readUInt16BE(2);
  header.writeUInt16BE(QR | (flags & 0x7800) | (flags & RD) | RA | (rcode & 0xf), 2);
  return header;
}

/** A standard query for one name (tests and health checks; the server itself only answers). */
export function encodeQuery(name: string, type: number, id = Math.floor(Math.random() * 0x10000)): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(RD, 2);
  header.writeUInt16BE(1, 4);
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(CLASS_IN, 2);
  return Buffer.concat([header, qname, tail]);
}

export interface DecodedAnswer {
  readonly id: number;
  readonly rcode: number;
  readonly authoritative: boolean;
  readonly truncated: boolean;
  /** A/AAAA addresses in the answer section, in order. */
  readonly addresses: string[];
}

function skipName(message: Buffer, start: number): number {
  let offset = start;
  for (;;) {
    const size = message[offset] ?? 0;
    if (size >= 0xc0) return offset + 2;
    offset += 1;
    if (size === 0) return offset;
    offset += size;
  }
}

/** Reads the header and A/AAAA records of an answer (tests; the server relays upstream answers as bytes). */
export function decodeAnswer(message: Buffer): DecodedAnswer {
  const flags = message.readUInt16BE(2);
  const qd = message.readUInt16BE(4);
  const an = message.readUInt16BE(6);
  let offset = HEADER;
  for (let i = 0; i < qd; i++) offset = skipName(message, offset) + 4;
  const addresses: string[] = [];
  for (let i = 0; i < an; i++) {
    offset = skipName(message, offset);
    const type = message.readUInt16BE(offset);
    const length = message.readUInt16BE(offset + 8);
    const data = message.subarray(offset + 10, offset + 10 + length);
    if (type === TYPE_A && length === 4) addresses.push([...data].join('.'));
    if (type === TYPE_AAAA && length === 16) addresses.push(Array.from({ length: 8 }, (_, g) => data.readUInt16BE(g * 2).toString(16)).join(':'));
    offset += 10 + length;
  }
  return { id: message.readUInt16BE(0), rcode: flags & 0xf, authoritative: (flags & AA) !== 0, truncated: (flags & TC) !== 0, addresses };
}
