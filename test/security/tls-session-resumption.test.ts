/**
 * A resumed TLS session skips certificate verification: the client certificate comes out of the
 * session. So a session (TLS 1.3 ticket/PSK, TLS 1.2 ticket) made under one trust bundle must never
 * resume after the bundle changed — otherwise a client whose CA was just removed from the trust bundle
 * keeps getting in. The listener takes its trust bundle from SDS, as a sidecar's ROOTCA; node:tls
 * clients keep the session the proxy gave them and offer it again.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { createServer } from 'node:tls';
import type { SecureVersion } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileDownstreamTls } from '../../src/proxy/tls/downstream.js';
import { eventually } from '../e2e/helpers/processes.js';
import { issueLeaf, rootCa } from './tls-certs.js';
import type { Pem } from './tls-certs.js';
import { downstreamTls, hcm, inline, listener, startTlsProxy, tlsGet } from './tls-fixture.js';
import type { TlsAnswer, TlsProxy } from './tls-fixture.js';

describe('TLS session resumption after the trust bundle changes', () => {
  let fx: TlsProxy;
  let roots: { a: string; b: string };
  let clientA: Pem;
  let clientB: Pem;
  let trustVersion = 0;

  /** Delivers a new trust bundle over SDS and waits until new handshakes are verified against it. */
  async function setTrust(pem: string, want: { a: boolean; b: boolean }): Promise<void> {
    const applied = fx.proxy.dynamic.applySecrets([{ name: 'client-roots', validation_context: { trusted_ca: inline(pem) } }], `t${++trustVersion}`);
    if (applied.error) throw new Error(applied.error);
    // Fresh handshakes (no session) show when the rebuilt listener is in place.
    const [a, b] = await eventually(async () => [await tlsGet(fx.port('mtls'), clientA), await tlsGet(fx.port('mtls'), clientB)], ([a, b]) => (a.status === 200) === want.a && (b.status === 200) === want.b);
    expect({ a: a?.status === 200, b: b?.status === 200 }).toEqual(want);
  }

  /** A full handshake with client A that yields a session, and proof that it resumes while nothing changed. */
  async function sessionOfA(version: SecureVersion): Promise<Buffer> {
    const first = await tlsGet(fx.port('mtls'), { ...clientA, minVersion: version, maxVersion: version });
    expect(first.status).toBe(200);
    expect(first.reused).toBe(false);
    expect(first.session).toBeDefined();
    const again = await tlsGet(fx.port('mtls'), { ...clientA, minVersion: version, maxVersion: version, session: first.session as Buffer });
    expect(again.reused).toBe(true);
    expect(again.status).toBe(200);
    return again.session ?? (first.session as Buffer);
  }

  beforeAll(async () => {
    const a = await rootCa();
    const b = await rootCa();
    roots = { a: a.pem, b: b.pem };
    clientA = await issueLeaf(a.ca, { uris: ['spiffe://cluster.local/ns/a/sa/client'] });
    clientB = await issueLeaf(b.ca, { uris: ['spiffe://cluster.local/ns/b/sa/client'] });
    const server = await issueLeaf(a.ca, { dns: ['gw.example.com'] });
    fx = await startTlsProxy();
    const applied = fx.proxy.dynamic.applySecrets([
      { name: 'server-cert', tls_certificate: { certificate_chain: inline(server.cert), private_key: inline(server.key) } },
      { name: 'client-roots', validation_context: { trusted_ca: inline(roots.a) } },
    ], 's0');
    if (applied.error) throw new Error(applied.error);
    await fx.applyListeners([listener('mtls', [{
      transport_socket: downstreamTls({
        require_client_certificate: true,
        common_tls_context: {
          tls_certificate_sds_secret_configs: [{ name: 'server-cert', sds_config: { ads: {} } }],
          validation_context_sds_secret_config: { name: 'client-roots', sds_config: { ads: {} } },
        },
      }),
      filters: [hcm('mtls', { body: 'ok' })],
    }])]);
  }, 60_000);
  afterAll(async () => {
    await fx?.stop();
  });

  it.each<SecureVersion>(['TLSv1.3', 'TLSv1.2'])('%s: a session from before the client\'s CA was removed does not get the client in', async (version) => {
    await setTrust(roots.a, { a: true, b: false });
    const session = await sessionOfA(version);
    await setTrust(roots.b, { a: false, b: true });
    const resumed: TlsAnswer = await tlsGet(fx.port('mtls'), { ...clientA, minVersion: version, maxVersion: version, session });
    expect(resumed.reused ?? false).toBe(false);
    expect(resumed.status).toBe(0);
    expect(resumed.body).toBe('');
  });

  it.each<SecureVersion>(['TLSv1.3', 'TLSv1.2'])('%s: after a bundle change that still trusts the client, the session is not resumed but verified again', async (version) => {
    await setTrust(roots.a, { a: true, b: false });
    const session = await sessionOfA(version);
    await setTrust(`${roots.a}${roots.b}`, { a: true, b: true });
    const resumed = await tlsGet(fx.port('mtls'), { ...clientA, minVersion: version, maxVersion: version, session });
    expect(resumed.reused).toBe(false);
    expect(resumed.status).toBe(200);
  });

  // Envoy's session_ticket_keys (or any key sharing) keep tickets decryptable across context changes; the
  // session id context — a hash of what validation depends on — must still keep them from resuming.
  it.each<SecureVersion>(['TLSv1.3', 'TLSv1.2'])('%s: with the same ticket keys, a session resumes only under the same validation context', async (version) => {
    const server = await issueLeaf((await rootCa()).ca, { dns: ['gw.example.com'] });
    const context = (trusted: string) => compileDownstreamTls({
      require_client_certificate: true,
      common_tls_context: { tls_certificates: [{ certificate_chain: inline(server.cert), private_key: inline(server.key) }], validation_context: { trusted_ca: inline(trusted) } },
    }, '/', 'listener').serverOptions;
    const keys = randomBytes(48);
    const start = async (trusted: string) => {
      const s = createServer(context(trusted), (socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
      s.setTicketKeys(keys);
      const open = new Set<Socket>();
      s.on('connection', (c: Socket) => open.add(c).size && c.once('close', () => open.delete(c)));
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      return {
        port: (s.address() as { port: number }).port,
        close: () => {
          for (const c of open) c.destroy();
          return new Promise((r) => s.close(r));
        },
      };
    };
    const before = await start(roots.a);
    const same = await start(roots.a);
    const changed = await start(`${roots.a}${roots.b}`);
    try {
      const first = await tlsGet(before.port, { ...clientA, minVersion: version, maxVersion: version });
      expect(first.session).toBeDefined();
      const session = first.session as Buffer;
      expect((await tlsGet(same.port, { ...clientA, minVersion: version, maxVersion: version, session })).reused).toBe(true);
      const other = await tlsGet(changed.port, { ...clientA, minVersion: version, maxVersion: version, session });
      expect(other.reused).toBe(false);
      expect(other.status).toBe(200);
    } finally {
      await Promise.all([before.close(), same.close(), changed.close()]);
    }
  });
});
