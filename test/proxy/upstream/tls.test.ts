// Upstream TLS origination (UpstreamTlsContext) against real node:https / node:tls servers, with
// certificates from the project's CA: SNI and ALPN as configured (not from Host), client certificates,
// chain and SAN verification by Envoy's rules, DataSources and tls_params.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster, UpstreamTlsContext } from '../../../src/envoy/index.js';
import { TYPE_URL } from '../../../src/envoy/index.js';
import { parseCertificates } from '../../../src/pki/index.js';
import { ClusterConfigError, parseSubjectAltNames, UpstreamError } from '../../../src/proxy/upstream/index.js';
import type { UpstreamCluster, UpstreamClusterManager } from '../../../src/proxy/upstream/index.js';
import { cipherList } from '../../../src/proxy/tls/params.js';
import { tempDir } from '../../helpers/index.js';
import type { TestPki } from './fixtures.js';
import { closeServer, lbEndpoint, makePki, manager, readBody, request, send, staticCluster, trackSockets } from './fixtures.js';

let pki: TestPki;
let work: { dir: string; cleanup: () => Promise<void> };
let cm: UpstreamClusterManager;
let stat: (name: string) => number;
const cleanup: Array<() => Promise<void>> = [];

const SNI = 'outbound_.80_._.frontend.simple-app.svc.cluster.local';

beforeAll(async () => {
  pki = await makePki();
  work = await tempDir('upstream-tls');
  await writeFile(join(work.dir, 'ca-cert.pem'), pki.rootPem);
  await writeFile(join(work.dir, 'cert.pem'), pki.client.cert);
  await writeFile(join(work.dir, 'key.pem'), pki.client.key);
});
afterAll(async () => {
  await work?.cleanup();
});
afterEach(async () => {
  await cm?.close();
  for (const c of cleanup.splice(0)) await c();
});

interface Seen {
  servername: string | false | null;
  offeredAlpn: string[];
  alpn: string | false | null;
  protocol: string | null;
  cipher: string;
  host: string | undefined;
  clientSans: string | undefined;
}

/** An HTTPS server that answers with what it saw of the TLS handshake. */
async function tlsBackend(options: ServerOptions & { pem?: { cert: string; key: string } }): Promise<{ port: number; seen: Seen[]; connections: () => number }> {
  const seen: Seen[] = [];
  let offered: string[] = [];
  let connections = 0;
  const { pem = pki.server, ...rest } = options;
  const server = createHttpsServer({
    cert: pem.cert,
    key: pem.key,
    ALPNCallback: ({ protocols }) => {
      offered = protocols;
      return protocols[0];
    },
    ...rest,
  }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const entry: Seen = {
      servername: socket.servername,
      offeredAlpn: offered,
      alpn: socket.alpnProtocol,
      protocol: socket.getProtocol(),
      cipher: socket.getCipher().name,
      host: req.headers.host,
      clientSans: socket.getPeerCertificate()?.subjectaltname,
    };
    seen.push(entry);
    res.end(JSON.stringify(entry));
  });
  server.on('secureConnection', () => connections++);
  server.on('tlsClientError', () => undefined);
  const sockets = trackSockets(server, 'secureConnection');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => closeServer(server, sockets));
  return { port: (server.address() as AddressInfo).port, seen, connections: () => connections };
}

function tlsCluster(name: string, port: number, ctx: UpstreamTlsContext, extra: Partial<Cluster> = {}): Cluster {
  return staticCluster(name, [port], {
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TYPE_URL.upstreamTlsContext, ...ctx } },
    ...extra,
  });
}

async function cluster(config: Cluster): Promise<UpstreamCluster> {
  ({ cm, stat } = manager(work.dir));
  await cm.addOrUpdate(config);
  return cm.get(config.name)!;
}

async function failure(p: Promise<unknown>): Promise<UpstreamError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
}

const trusted = { validation_context: { trusted_ca: { filename: 'ca-cert.pem' } } };
const clientCert = { tls_certificates: [{ certificate_chain: { filename: 'cert.pem' }, private_key: { filename: 'key.pem' } }] };

describe('the second seed\'s VM cluster (STRICT_DNS, mTLS, SNI and Istio ALPN)', () => {
  it('sends the configured SNI and ALPN, presents the client certificate and keeps Host as the authority', async () => {
    const b = await tlsBackend({ requestCert: true, rejectUnauthorized: true, ca: pki.rootPem });
    // The seed's cluster, with a local address and V4_ONLY so "localhost" means 127.0.0.1.
    const c = await cluster({
      name: 'frontend',
      type: 'STRICT_DNS',
      dns_lookup_family: 'V4_ONLY',
      load_assignment: { cluster_name: 'frontend', endpoints: [{ lb_endpoints: [lbEndpoint('localhost', b.port)] }] },
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': TYPE_URL.upstreamTlsContext,
          sni: SNI,
          common_tls_context: { alpn_protocols: ['istio-peer-exchange', 'istio'], ...clientCert, ...trusted },
        },
      },
    });
    for (const authority of ['frontend.simple-app:80', 'other.example', 'frontend.simple-app:80']) {
      const seen = JSON.parse((await send(c, { authority, path: '/frontend' })).body) as Seen;
      expect(seen.host).toBe(authority);
      expect(seen.servername).toBe(SNI);
      expect(seen.offeredAlpn).toEqual(['istio-peer-exchange', 'istio']);
      expect(seen.alpn).toBe('istio-peer-exchange');
      expect(seen.clientSans).toContain('URI:spiffe://cluster.local/ns/default/sa/sleep');
      await new Promise(setImmediate);
    }
    // Different Host headers do not change SNI, so the keep-alive connection is reused.
    expect(b.connections()).toBe(1);
  });

  it('a server requiring a client certificate refuses a cluster without one: UF', async () => {
    const b = await tlsBackend({ requestCert: true, rejectUnauthorized: true, ca: pki.rootPem });
    const c = await cluster(tlsCluster('nocert', b.port, { sni: 'httpbin.test', common_tls_context: trusted }));
    const err = await failure(send(c));
    expect(err.flag).toBe('UF'); // the server's alert ends the handshake: a connection failure
    expect(b.seen).toHaveLength(0);
  });
});

describe('server certificate verification', () => {
  it('with a trusted_ca, verifies the chain but not the hostname', async () => {
    const b = await tlsBackend({});
    const c = await cluster(tlsCluster('nohostname', b.port, { sni: 'not-the-cert-name.example', common_tls_context: trusted }));
    expect(JSON.parse((await send(c)).body)).toMatchObject({ servername: 'not-the-cert-name.example' });
  });

  it('with a trusted_ca, refuses a certificate from another root: UF', async () => {
    const b = await tlsBackend({ pem: pki.stranger });
    const c = await cluster(tlsCluster('untrusted', b.port, { sni: 'httpbin.test', common_tls_context: trusted }));
    const err = await failure(send(c));
    expect(err.flag).toBe('UF');
    expect(err.message).toMatch(/verification failed/);
    expect(stat('cluster.untrusted.upstream_cx_connect_fail')).toBe(1);
    expect(b.seen).toHaveLength(0);
  });

  it('without a validation context, accepts any certificate (Envoy does not verify)', async () => {
    const b = await tlsBackend({ pem: pki.stranger });
    const c = await cluster(tlsCluster('noverify', b.port, {}));
    expect(JSON.parse((await send(c)).body)).toMatchObject({ servername: false, offeredAlpn: [] });
  });

  it('ACCEPT_UNTRUSTED skips the chain check but still matches SANs', async () => {
    const b = await tlsBackend({ pem: pki.stranger });
    const sans = { match_typed_subject_alt_names: [{ san_type: 'DNS' as const, matcher: { exact: 'httpbin.test' } }] };
    const ok = await cluster(tlsCluster('untrusted-ok', b.port, { common_tls_context: { validation_context: { ...trusted.validation_context, ...sans, trust_chain_verification: 'ACCEPT_UNTRUSTED' } } }));
    expect((await send(ok)).response.status).toBe(200);
  });

  const sanCases: Array<[string, NonNullable<UpstreamTlsContext['common_tls_context']>['validation_context'], boolean]> = [
    ['URI exact (the SPIFFE ID)', { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/httpbin' } }] }, true],
    ['URI exact, another workload', { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/other' } }] }, false],
    ['DNS suffix', { match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { suffix: '.test' } }] }, true],
    ['a URI value under the DNS type', { match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { prefix: 'spiffe://' } }] }, false],
    ['prefix with ignore_case', { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'SPIFFE://CLUSTER.LOCAL/', ignore_case: true } }] }, true],
    ['safe_regex (whole value)', { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { safe_regex: { regex: 'spiffe://cluster\\.local/ns/[^/]+/sa/httpbin' } } }] }, true],
    ['safe_regex matching only part of the value', { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { safe_regex: { regex: 'sa/httpbin' } } }] }, false],
    ['any of several matchers', { match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'nope.test' } }, { san_type: 'DNS', matcher: { exact: 'httpbin.test' } }] }, true],
    ['the untyped match_subject_alt_names', { match_subject_alt_names: [{ contains: 'sa/httpbin' }] }, true],
  ];
  for (const [what, vc, accepted] of sanCases) {
    it(`SAN matching: ${what} ${accepted ? 'accepts' : 'refuses (UF)'}`, async () => {
      const b = await tlsBackend({});
      const c = await cluster(tlsCluster('san', b.port, { common_tls_context: { validation_context: { ...trusted.validation_context, ...vc } } }));
      if (accepted) {
        expect((await send(c)).response.status).toBe(200);
      } else {
        const err = await failure(send(c));
        expect(err.flag).toBe('UF');
        expect(err.message).toMatch(/match none of the configured subject alt name matchers/);
        expect(b.seen).toHaveLength(0);
      }
    });
  }

  it('an exact DNS matcher accepts a wildcard certificate that covers the name, and only one label deep', async () => {
    const b = await tlsBackend({ pem: pki.wildcard });
    const dns = (exact: string) => ({ common_tls_context: { validation_context: { ...trusted.validation_context, match_typed_subject_alt_names: [{ san_type: 'DNS' as const, matcher: { exact } }] } } });
    const ok = await cluster(tlsCluster('wild', b.port, dns('api.mesh.test')));
    expect((await send(ok)).response.status).toBe(200);
    await cm.close();
    const deep = await cluster(tlsCluster('wild-deep', b.port, dns('a.b.mesh.test')));
    expect((await failure(send(deep))).flag).toBe('UF');
  });

  it('verify_certificate_hash pins the leaf certificate', async () => {
    const b = await tlsBackend({});
    const leaf = parseCertificates(pki.server.cert)[0]!;
    const hash = createHash('sha256').update(Buffer.from(leaf.rawData)).digest('hex').replace(/(..)(?!$)/g, '$1:');
    const pinned = await cluster(tlsCluster('pinned', b.port, { common_tls_context: { validation_context: { verify_certificate_hash: [hash] } } }));
    expect((await send(pinned)).response.status).toBe(200);
    await cm.close();
    const wrong = await cluster(tlsCluster('pinned-wrong', b.port, { common_tls_context: { validation_context: { verify_certificate_hash: ['00'.repeat(32)] } } }));
    expect((await failure(send(wrong))).message).toMatch(/verify_certificate_hash/);
  });
});

describe('TLS config', () => {
  it('reads certificates from inline_string, inline_bytes (base64) and environment_variable', async () => {
    const b = await tlsBackend({ requestCert: true, rejectUnauthorized: true, ca: pki.rootPem });
    process.env.ISTHMUS_TEST_CLIENT_KEY = pki.client.key;
    try {
      const c = await cluster(tlsCluster('inline', b.port, {
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { inline_bytes: Buffer.from(pki.client.cert).toString('base64') }, private_key: { environment_variable: 'ISTHMUS_TEST_CLIENT_KEY' } }],
          validation_context: { trusted_ca: { inline_string: pki.rootPem } },
        },
      }));
      expect(JSON.parse((await send(c)).body).clientSans).toContain('spiffe://cluster.local/ns/default/sa/sleep');
    } finally {
      delete process.env.ISTHMUS_TEST_CLIENT_KEY;
    }
  });

  it('names the field of a certificate file that cannot be read, and of an unset environment variable', async () => {
    ({ cm, stat } = manager(work.dir));
    const missing = cm.addOrUpdate(tlsCluster('missing', 1, { common_tls_context: { tls_certificates: [{ certificate_chain: { filename: 'nope.pem' }, private_key: { filename: 'key.pem' } }] } }));
    await expect(missing).rejects.toBeInstanceOf(ClusterConfigError);
    await expect(missing).rejects.toThrow(/cluster "missing": transport_socket\.typed_config\.common_tls_context\.tls_certificates\[0\]\.certificate_chain\.filename: cannot read ".*nope\.pem": ENOENT/);
    await expect(cm.addOrUpdate(tlsCluster('env', 1, { common_tls_context: { validation_context: { trusted_ca: { environment_variable: 'ISTHMUS_UNSET_VAR' } } } })))
      .rejects.toThrow(/trusted_ca\.environment_variable: "ISTHMUS_UNSET_VAR" is not set/);
  });

  it('refuses SAN matching without a trusted_ca, as Envoy does', async () => {
    ({ cm, stat } = manager(work.dir));
    await expect(cm.addOrUpdate(tlsCluster('insecure', 1, { common_tls_context: { validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://x/y' } }] } } })))
      .rejects.toThrow(/validation_context\.trusted_ca: subject alt name matching needs a trusted_ca/);
  });

  it('refuses an invalid SAN regex and an unknown transport socket', async () => {
    ({ cm, stat } = manager(work.dir));
    await expect(cm.addOrUpdate(tlsCluster('regex', 1, { common_tls_context: { validation_context: { ...trusted.validation_context, match_subject_alt_names: [{ safe_regex: { regex: '(' } }] } } })))
      .rejects.toThrow(/match_subject_alt_names\[0\]: safe_regex "\(" does not compile/);
    await expect(cm.addOrUpdate(staticCluster('alts', [1], { transport_socket: { name: 'alts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.alts.v3.Alts' } } })))
      .rejects.toThrow(/unsupported transport socket/);
  });

  it('uses TLS 1.2 by default (Envoy\'s client maximum) and TLS 1.3 when allowed', async () => {
    const b = await tlsBackend({});
    const v12 = await cluster(tlsCluster('v12', b.port, {}));
    expect(JSON.parse((await send(v12)).body).protocol).toBe('TLSv1.2');
    await cm.close();
    const v13 = await cluster(tlsCluster('v13', b.port, { common_tls_context: { tls_params: { tls_maximum_protocol_version: 'TLSv1_3' } } }));
    expect(JSON.parse((await send(v13)).body).protocol).toBe('TLSv1.3');
  });

  it('offers only the configured cipher_suites, with [A|B] equal-preference groups', async () => {
    expect(cipherList(['[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]', 'ECDHE-ECDSA-AES256-GCM-SHA384'])).toBe('ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384');
    const b = await tlsBackend({ ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305', honorCipherOrder: true });
    const c = await cluster(tlsCluster('ciphers', b.port, { common_tls_context: { tls_params: { cipher_suites: ['[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]'] } } }));
    expect(JSON.parse((await send(c)).body).cipher).toBe('ECDHE-ECDSA-CHACHA20-POLY1305');
  });

  it('parses Node\'s subjectaltname, including quoted values', () => {
    expect(parseSubjectAltNames('DNS:a.test, URI:spiffe://td/ns/x, IP Address:127.0.0.1, email:me@x.test, DNS:"we, ird"')).toEqual([
      { type: 'DNS', value: 'a.test' },
      { type: 'URI', value: 'spiffe://td/ns/x' },
      { type: 'IP_ADDRESS', value: '127.0.0.1' },
      { type: 'EMAIL', value: 'me@x.test' },
      { type: 'DNS', value: 'we, ird' },
    ]);
  });
});

describe('connectTcp over TLS', () => {
  it('returns a TLS socket with the cluster\'s SNI and ALPN, for tcp_proxy', async () => {
    let servername: string | false | null = null;
    let alpn: string | false | null = null;
    const server = createTlsServer({ cert: pki.server.cert, key: pki.server.key, ALPNProtocols: ['istio'] }, (s) => {
      servername = s.servername;
      alpn = s.alpnProtocol;
      s.pipe(s);
    });
    const sockets = trackSockets(server, 'secureConnection');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => closeServer(server, sockets));
    const c = await cluster(tlsCluster('tcp-tls', (server.address() as AddressInfo).port, { sni: SNI, common_tls_context: { alpn_protocols: ['istio'], ...trusted } }));
    const socket = await c.connectTcp(c.chooseHost()!);
    socket.write('over tls');
    const echoed = await new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
    expect(echoed).toBe('over tls');
    expect(servername).toBe(SNI);
    expect(alpn).toBe('istio');
    expect((socket as TLSSocket).encrypted).toBe(true);
    socket.destroy();
  });
});

describe('cluster updates', () => {
  it('a replaced cluster finishes the response in flight on its old connection; new requests use the new TLS config', async () => {
    const b = await tlsBackend({});
    const old = await cluster(tlsCluster('swap', b.port, {}));
    const first = await old.httpRequest(request({ path: '/first' }), old.chooseHost()!);
    await cm.addOrUpdate(tlsCluster('swap', b.port, { sni: 'new.example' }));
    expect(cm.get('swap')).not.toBe(old);
    expect(JSON.parse(await readBody(first))).toMatchObject({ servername: false });
    expect(JSON.parse((await send(cm.get('swap')!)).body)).toMatchObject({ servername: 'new.example' });
    await expect(old.httpRequest(request(), old.hosts()[0]!)).rejects.toMatchObject({ flag: 'UH' });
  });
});
