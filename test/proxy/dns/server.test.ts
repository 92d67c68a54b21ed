/** The proxy's DNS server over real UDP and TCP sockets: table answers, forwarding, SERVFAIL, truncation. */
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAnswer, dnsCaptureOf, DnsProxyServer, encodeQuery, nameTableFromListeners, parseResolver, RCODE, TYPE_A } from '../../../src/proxy/dns/index.js';
import type { Listener } from '../../../src/envoy/index.js';

const MANY = Array.from({ length: 40 }, (_, i) => `10.99.0.${i + 1}`);

function resolverFor(port: number): Resolver {
  const r = new Resolver({ timeout: 3000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  return r;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** Sends raw messages over one TCP connection and reads as many length-prefixed answers back. */
function tcpExchange(port: number, messages: Buffer[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buffered = Buffer.alloc(0);
    const answers: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${answers.length} TCP answers`)), 5000);
    socket.on('error', reject);
    socket.on('connect', () => socket.write(Buffer.concat(messages.flatMap((m) => [Buffer.from([m.length >> 8, m.length & 0xff]), m]))));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        answers.push(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
      }
      if (answers.length === messages.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve(answers);
      }
    });
  });
}

function udpExchange(port: number, message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('no UDP answer'));
    }, 3000);
    socket.on('message', (m) => {
      clearTimeout(timer);
      socket.close();
      resolve(m);
    });
    socket.send(message, port, '127.0.0.1');
  });
}

describe('DNS proxy server', () => {
  let upstream: DnsProxyServer;
  let proxy: DnsProxyServer;
  let silent: UdpSocket;
  let stuck: DnsProxyServer;
  let proxyPort: number;

  beforeAll(async () => {
    // The "system resolver" is another DNS server on a real socket, which knows upstream.test and nothing else.
    upstream = new DnsProxyServer({ addresses: [{ host: '127.0.0.1', port: 0 }], upstreams: [] });
    upstream.setTable({ 'upstream.test': ['10.1.2.3'] });
    await upstream.start();
    const upstreamPort = upstream.addresses()[0]?.port as number;
    proxy = new DnsProxyServer({ addresses: [{ host: '127.0.0.1', port: 0 }], upstreams: [{ host: '127.0.0.1', port: upstreamPort }], upstreamTimeoutMs: 1500 });
    proxy.setTable({ 'lambda.external': ['127.240.235.80'], 'v6.test': ['fd00::1', '127.0.0.9'], 'many.test': MANY });
    await proxy.start();
    proxyPort = proxy.addresses()[0]?.port as number;
    // A resolver that never answers.
    silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    stuck = new DnsProxyServer({ addresses: [{ host: '127.0.0.1', port: 0 }], upstreams: [{ host: '127.0.0.1', port: silent.address().port }], upstreamTimeoutMs: 600 });
    await stuck.start();
  });

  afterAll(async () => {
    await Promise.all([proxy?.close(), upstream?.close(), stuck?.close()]);
    silent?.close();
  });

  it('answers A from the table (any case, trailing dot), authoritative, and AAAA with an empty NOERROR', async () => {
    const r = resolverFor(proxyPort);
    expect(await r.resolve4('lambda.external')).toEqual(['127.240.235.80']);
    expect(await r.resolve4('Lambda.EXTERNAL.')).toEqual(['127.240.235.80']);
    expect(await code(r.resolve6('lambda.external'))).toBe('ENODATA');
    expect(await r.resolve6('v6.test')).toEqual(['fd00::1']);
    expect(await r.resolve4('v6.test')).toEqual(['127.0.0.9']);
    const raw = decodeAnswer(await udpExchange(proxyPort, encodeQuery('lambda.external', TYPE_A, 4242)));
    expect(raw).toEqual({ id: 4242, rcode: RCODE.NOERROR, authoritative: true, truncated: false, addresses: ['127.240.235.80'] });
  });

  it('forwards other names to the upstream resolver and relays its answer; SERVFAIL from upstream comes back as is', async () => {
    const before = { ...proxy.stats };
    const r = resolverFor(proxyPort);
    expect(await r.resolve4('upstream.test')).toEqual(['10.1.2.3']);
    expect(proxy.stats.forwarded).toBe(before.forwarded + 1);
    expect(proxy.stats.local).toBe(before.local);
    // Neither knows it: the upstream (no resolvers of its own) says SERVFAIL.
    expect(await code(r.resolve4('nowhere.test'))).toBe('ESERVFAIL');
  });

  it('answers SERVFAIL when the upstream does not answer within the timeout', async () => {
    const started = Date.now();
    const answer = decodeAnswer(await udpExchange(stuck.addresses()[0]?.port as number, encodeQuery('example.org', TYPE_A, 7)));
    expect(answer.rcode).toBe(RCODE.SERVFAIL);
    expect(answer.id).toBe(7);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(stuck.stats.failed).toBe(1);
  });

  it('serves TCP (several queries on one connection, also forwarded ones) and truncates a long UDP answer', async () => {
    const [lambda, many, forwarded] = (await tcpExchange(proxyPort, [encodeQuery('lambda.external', TYPE_A, 1), encodeQuery('many.test', TYPE_A, 2), encodeQuery('upstream.test', TYPE_A, 3)])).map((a) => decodeAnswer(a));
    expect(lambda).toMatchObject({ id: 1, addresses: ['127.240.235.80'] });
    expect(many).toMatchObject({ id: 2, truncated: false, addresses: MANY });
    expect(forwarded).toMatchObject({ id: 3, rcode: RCODE.NOERROR, addresses: ['10.1.2.3'] });
    const udp = decodeAnswer(await udpExchange(proxyPort, encodeQuery('many.test', TYPE_A, 5)));
    expect(udp).toMatchObject({ id: 5, truncated: true, addresses: [] });
    // node's resolver retries a truncated answer over TCP and gets all of them.
    expect((await resolverFor(proxyPort).resolve4('many.test')).sort()).toEqual([...MANY].sort());
  });

  it('a new table replaces the old one; messages that are not queries get no answer', async () => {
    const r = resolverFor(proxyPort);
    proxy.setTable({ 'lambda.external': ['127.240.1.1'] });
    expect(await r.resolve4('lambda.external')).toEqual(['127.240.1.1']);
    expect(await proxy.handle(Buffer.from([1, 2, 3]), 'udp')).toBeUndefined();
    const response = encodeQuery('x.test', TYPE_A, 9);
    response.writeUInt16BE(0x8000, 2);
    expect(await proxy.handle(response, 'udp')).toBeUndefined();
  });
});

describe('name table from listeners and DNS settings from node metadata', () => {
  it('reads isthmus.dns metadata of any listener, lower-cases names and drops invalid addresses', () => {
    const listener = (name: string, table: Record<string, { ips: unknown }>): Listener => ({
      name, address: { socket_address: { address: '127.0.0.1', port_value: 1 } }, metadata: { filter_metadata: { 'isthmus.dns': { table } } },
    });
    const table = nameTableFromListeners([
      listener('dns', { 'Lambda.External': { ips: ['127.240.235.80'] }, bad: { ips: ['not-an-ip'] }, none: { ips: 'x' } }),
      { name: 'plain', address: { socket_address: { address: '0.0.0.0', port_value: 80 } } },
    ]);
    expect(table).toEqual({ 'lambda.external': ['127.240.235.80'] });
  });

  it('DNS_CAPTURE and DNS_PORT', () => {
    expect(dnsCaptureOf({ DNS_CAPTURE: 'true' })).toEqual({ capture: true, port: 15053 });
    expect(dnsCaptureOf({ DNS_CAPTURE: 'true', DNS_PORT: '15054' })).toEqual({ capture: true, port: 15054 });
    expect(dnsCaptureOf({ DNS_CAPTURE: 'false' }).capture).toBe(false);
    expect(dnsCaptureOf(undefined).capture).toBe(false);
  });

  it('parses resolv.conf server forms', () => {
    expect(parseResolver('10.255.255.53')).toEqual({ host: '10.255.255.53', port: 53 });
    expect(parseResolver('127.0.0.1:5353')).toEqual({ host: '127.0.0.1', port: 5353 });
    expect(parseResolver('[::1]:5353')).toEqual({ host: '::1', port: 5353 });
    expect(parseResolver('fd00::53')).toEqual({ host: 'fd00::53', port: 53 });
    expect(parseResolver('resolver.example')).toBeUndefined();
  });
});
