/**
 * Envoy's server defaults when tls_params is absent: TLS 1.2 and 1.3 only, and for TLS 1.2 only ECDHE key
 * exchange with AEAD ciphers (no CBC, no static RSA, no 3DES/RC4). Probed with openssl s_client the way
 * a scanner does, with the client's own security level lowered so that it really offers the old versions
 * and suites; a listener that asks for TLS 1.0 explicitly shows the probe would notice.
 */
import { connect, createServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openssl } from '../helpers/index.js';
import { issueLeaf, rootCa } from './tls-certs.js';
import { downstreamTls, hcm, inline, listener, startTlsProxy } from './tls-fixture.js';
import type { TlsProxy } from './tls-fixture.js';

const STRONG_TLS12 = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-CHACHA20-POLY1305', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384'];

interface Probe { protocol?: string; cipher?: string }

describe('TLS defaults of a server context without tls_params', () => {
  let fx: TlsProxy;

  /** One handshake with openssl s_client; the negotiated protocol and cipher, or nothing. */
  async function probe(listenerName: string, args: string[]): Promise<Probe> {
    const res = await openssl(['s_client', '-connect', `127.0.0.1:${fx.port(listenerName)}`, '-servername', 'gw.example.com', '-brief', ...args]);
    // -brief prints the negotiated version and suite once a handshake completed.
    const out = res.stdout + res.stderr;
    if (!out.includes('CONNECTION ESTABLISHED')) return {};
    return { protocol: /Protocol version: (\S+)/.exec(out)?.[1] ?? '', cipher: /Ciphersuite: (\S+)/.exec(out)?.[1] ?? '' };
  }

  beforeAll(async () => {
    const root = await rootCa();
    const ec = await issueLeaf(root.ca, { dns: ['gw.example.com'] });
    const rsa = await issueLeaf(root.ca, { dns: ['gw.example.com'], keyType: 'rsa-2048' });
    fx = await startTlsProxy();
    const chain = (pem: { cert: string; key: string }, tlsParams?: Record<string, unknown>) => ({
      transport_socket: downstreamTls({ common_tls_context: { tls_certificates: [{ certificate_chain: inline(pem.cert), private_key: inline(pem.key) }], ...(tlsParams ? { tls_params: tlsParams } : {}) } }),
      filters: [hcm('gw', { body: 'ok' })],
    });
    await fx.applyListeners([
      listener('ecdsa', [chain(ec)]),
      listener('rsa', [chain(rsa)]),
      listener('legacy', [chain(rsa, { tls_minimum_protocol_version: 'TLSv1_0', cipher_suites: ['DEFAULT', '@SECLEVEL=0'] })]),
    ]);
  }, 60_000);
  afterAll(async () => {
    await fx?.stop();
  });

  it.each([['ecdsa'], ['rsa']])('%s: TLS 1.0 and 1.1 are refused', async (name) => {
    expect(await probe(name, ['-tls1', '-cipher', 'DEFAULT:@SECLEVEL=0'])).toEqual({});
    expect(await probe(name, ['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0'])).toEqual({});
  });

  it('the probe does see TLS 1.0 on a listener that asks for it (tls_minimum_protocol_version: TLSv1_0)', async () => {
    expect(await probe('legacy', ['-tls1', '-cipher', 'DEFAULT:@SECLEVEL=0'])).toMatchObject({ protocol: 'TLSv1' });
    expect(await probe('legacy', ['-tls1_2', '-cipher', 'AES128-SHA:@SECLEVEL=0'])).toEqual({ protocol: 'TLSv1.2', cipher: 'AES128-SHA' });
  });

  it.each([['ecdsa'], ['rsa']])('%s: TLS 1.2 and 1.3 are served, TLS 1.2 with an ECDHE+AEAD suite', async (name) => {
    const tls12 = await probe(name, ['-tls1_2']);
    expect(tls12.protocol).toBe('TLSv1.2');
    expect(STRONG_TLS12).toContain(tls12.cipher);
    expect((await probe(name, ['-tls1_3'])).protocol).toBe('TLSv1.3');
  });

  it.each([
    ['rsa', 'AES128-GCM-SHA256'], // static RSA key exchange: no forward secrecy
    ['rsa', 'AES256-SHA'],
    ['rsa', 'ECDHE-RSA-AES128-SHA'], // CBC
    ['rsa', 'ECDHE-RSA-AES256-SHA384'],
    ['rsa', 'DES-CBC3-SHA'],
    ['rsa', 'DHE-RSA-AES128-GCM-SHA256'],
    ['ecdsa', 'ECDHE-ECDSA-AES128-SHA256'],
    ['ecdsa', 'ECDHE-ECDSA-AES256-SHA'],
  ])('%s: TLS 1.2 suite %s is not offered', async (name, cipher) => {
    expect(await probe(name, ['-tls1_2', '-cipher', `${cipher}:@SECLEVEL=0`])).toEqual({});
  });

  /** A TLS 1.2 connection that asks to renegotiate; the error it gets, or "renegotiated". */
  function renegotiate(port: number): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, maxVersion: 'TLSv1.2', rejectUnauthorized: false, servername: 'gw.example.com' });
      socket.on('error', (err) => resolve(err.message));
      socket.on('close', () => resolve('closed'));
      socket.on('secureConnect', () => {
        socket.renegotiate({ rejectUnauthorized: false }, (err) => {
          resolve(err ? err.message : 'renegotiated');
          socket.destroy();
        });
      });
    });
  }

  // testssl.sh's "Secure Client-Initiated Renegotiation: VULNERABLE, DoS threat" (Node allows 3 per 10 min).
  it('client-initiated renegotiation is refused', async () => {
    expect(await renegotiate(fx.port('ecdsa'))).toMatch(/no renegotiation|closed|ECONNRESET|socket hang up/i);
    // The probe does tell: a plain Node TLS server lets the same client renegotiate.
    const pem = await issueLeaf((await rootCa()).ca, { dns: ['gw.example.com'] });
    const plain = createServer(pem, (s) => s.on('error', () => undefined));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    try {
      expect(await renegotiate((plain.address() as { port: number }).port)).toBe('renegotiated');
    } finally {
      await new Promise((r) => plain.close(r));
    }
  });

  it('a node client limited to TLS 1.1 is refused', async () => {
    const error = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: fx.port('ecdsa'), maxVersion: 'TLSv1.1', minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0', rejectUnauthorized: false });
      socket.on('secureConnect', () => resolve(`connected with ${String(socket.getProtocol())}`));
      socket.on('error', (err) => resolve(err.message));
    });
    expect(error).toMatch(/protocol version|unsupported protocol/i);
  });
});
