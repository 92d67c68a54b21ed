// Envoy's SPIFFE certificate validator (envoy.tls.cert_validator.spiffe) in a real proxy: two trust
// domains with CAs that share nothing (a.local, b.local); peers are verified against their own trust
// domain's bundle only, downstream (client certificates on an mTLS listener) and upstream (server
// certificates of TLS origination). Certificates come from the project's CA; clients and servers are
// node:tls / node:https on 127.0.0.1.
import { writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAny, encodeAny, loadBootstrapFile, TYPE_URL, validateMessage } from '../../../src/envoy/index.js';
import type { CertificateValidationContext, DownstreamTlsContext } from '../../../src/envoy/index.js';
import { CertificateAuthority, exportPrivateKeyPem, parseSpiffeId, toPem } from '../../../src/pki/index.js';
import { ProxyServer } from '../../../src/proxy/index.js';
import { compileDownstreamTls } from '../../../src/proxy/tls/downstream.js';
import { compileUpstreamTls } from '../../../src/proxy/upstream/tls.js';
import { tempDir } from '../../helpers/index.js';

const HCM = TYPE_URL.httpConnectionManager;
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': TYPE_URL.router } };
const CLIENT_ID = 'spiffe://a.local/ns/x/sa/client';
const SERVER_ID = 'spiffe://b.local/ns/apps/sa/echo';

interface Pem { cert: string; key: string }
interface Answer { status?: number; body?: string; error?: string }

let work: { dir: string; cleanup: () => Promise<void> };
let proxy: ProxyServer;
let app: HttpServer;
const backends: HttpsServer[] = [];
const files: Record<string, string> = {};
const certs: Record<string, Pem> = {};
let inboundPort = 0;
let outboundPort = 0;
const backendSaw: Record<string, string[]> = { good: [], forged: [], unknown: [] };

async function issue(ca: CertificateAuthority, spiffeId: string): Promise<Pem> {
  const issued = await ca.issueWithNewKey({ spiffeId });
  return { cert: toPem([issued.certificate, ...issued.chain.filter((c) => c.subject !== c.issuer)]), key: await exportPrivateKeyPem(issued.keys.privateKey) };
}

async function file(name: string, text: string): Promise<string> {
  const path = join(work.dir, name);
  await writeFile(path, text);
  files[name] = path;
  return path;
}

/** The SPIFFE validator with one bundle per trust domain, as the control plane's ROOTCA carries it. */
function spiffeValidation(extra: Partial<CertificateValidationContext> = {}): CertificateValidationContext {
  return {
    custom_validator_config: {
      name: 'envoy.tls.cert_validator.spiffe',
      typed_config: {
        '@type': TYPE_URL.spiffeCertValidatorConfig,
        trust_domains: [{ name: 'a.local', trust_bundle: { filename: files['a-root.pem'] } }, { name: 'b.local', trust_bundle: { filename: files['b-root.pem'] } }],
      },
    },
    ...extra,
  };
}

/** One HTTPS request over mTLS to the proxy's inbound listener, checking that the proxy is b.local's echo. */
function inbound(client: Pem | undefined, path = '/'): Promise<Answer> {
  return new Promise((resolve) => {
    const req = httpsRequest({
      host: '127.0.0.1', port: inboundPort, path, agent: false, timeout: 5_000, ca: certs['b-root']?.cert,
      ...(client ? { cert: client.cert, key: client.key } : {}),
      checkServerIdentity: (_h, cert) => (cert.subjectaltname === `URI:${SERVER_ID}` ? undefined : new Error(`unexpected server ${cert.subjectaltname}`)),
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end();
  });
}

async function outbound(path: string): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${outboundPort}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text() };
}

function hcm(name: string, routes: unknown[]) {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: { '@type': HCM, stat_prefix: name, route_config: { name, virtual_hosts: [{ name, domains: ['*'], routes }] }, http_filters: [ROUTER] },
  };
}

beforeAll(async () => {
  work = await tempDir('spiffe-validator');
  const aRoot = await CertificateAuthority.createRoot({ trustDomain: 'a.local' });
  const aCa = await aRoot.createIntermediate({ name: 'mesh-ca' });
  const bRoot = await CertificateAuthority.createRoot({ trustDomain: 'b.local' });
  const bCa = await bRoot.createIntermediate({ name: 'mesh-ca' });
  certs['b-root'] = { cert: toPem([bRoot.certificate]), key: '' };
  await file('a-root.pem', toPem([aRoot.certificate]));
  await file('b-root.pem', toPem([bRoot.certificate]));
  certs.client = await issue(aCa, CLIENT_ID);
  certs.otherA = await issue(aCa, 'spiffe://a.local/ns/y/sa/other');
  // Mesh B's CA minting an identity of a.local, and mesh A's minting one of b.local: valid chains, wrong domain.
  certs.forgedByB = await issue(bCa, CLIENT_ID);
  certs.forgedByA = await issue(aCa, SERVER_ID);
  // A trust domain with no bundle, from a CA that is trusted for another domain.
  certs.unknownDomain = await issue(aCa, 'spiffe://c.local/ns/x/sa/client');
  certs.server = await issue(bCa, SERVER_ID);
  for (const [name, pem] of Object.entries(certs)) {
    if (!pem.key) continue;
    await file(`${name}.pem`, pem.cert);
    await file(`${name}-key.pem`, pem.key);
  }

  app = createHttpServer((req, res) => res.end(`app ${req.url}`));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  // Upstream servers of TLS origination, each with a certificate to judge; they require the client's a.local certificate.
  const backendPorts: Record<string, number> = {};
  for (const [name, pem] of [['good', certs.server], ['forged', certs.forgedByA], ['unknown', certs.unknownDomain]] as const) {
    const server = createHttpsServer({ cert: pem?.cert, key: pem?.key, ca: toPem([aRoot.certificate]), requestCert: true, rejectUnauthorized: true }, (req, res) => {
      backendSaw[name]?.push((req.socket as TLSSocket).getPeerCertificate().subjectaltname ?? '');
      res.end(`${name} ${req.url}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    backends.push(server);
    backendPorts[name] = (server.address() as AddressInfo).port;
  }

  await file('bootstrap.yaml', 'node: { id: spiffe, cluster: spiffe }\n');
  proxy = await ProxyServer.create(await loadBootstrapFile(files['bootstrap.yaml'] as string), { drainTimeMs: 100 });
  await proxy.start();
  const endpoint = (port: number) => ({ endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] });
  const tlsCluster = (name: string) => ({
    name, type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: name, ...endpoint(backendPorts[name] as number) },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': TYPE_URL.upstreamTlsContext,
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { filename: files['client.pem'] }, private_key: { filename: files['client-key.pem'] } }],
          validation_context: spiffeValidation({ match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: name === 'unknown' ? 'spiffe://c.local/ns/x/sa/client' : SERVER_ID } }] }),
        },
      },
    },
  });
  const clusters = await proxy.dynamic.applyClusters([
    { name: 'app', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'app', ...endpoint((app.address() as AddressInfo).port) } },
    tlsCluster('good'), tlsCluster('forged'), tlsCluster('unknown'),
  ] as never, 'c1');
  if (clusters.error) throw new Error(clusters.error);
  const downstream: DownstreamTlsContext = {
    require_client_certificate: true,
    common_tls_context: {
      tls_certificates: [{ certificate_chain: { filename: files['server.pem'] as string }, private_key: { filename: files['server-key.pem'] as string } }],
      validation_context: spiffeValidation({ match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://a.local/ns/x/' } }] }),
    },
  };
  const listeners = await proxy.dynamic.applyListeners([
    {
      name: 'inbound', address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
      filter_chains: [{
        transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TYPE_URL.downstreamTlsContext, ...downstream } },
        filters: [hcm('inbound', [{ match: { prefix: '/' }, route: { cluster: 'app' } }])],
      }],
    },
    {
      name: 'outbound', address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
      filter_chains: [{ filters: [hcm('outbound', ['good', 'forged', 'unknown'].map((c) => ({ match: { prefix: `/${c}` }, route: { cluster: c } })))] }],
    },
  ] as never, 'l1');
  if (listeners.error) throw new Error(listeners.error);
  const ports = proxy.listenerPorts();
  inboundPort = ports.inbound as number;
  outboundPort = ports.outbound as number;
}, 60_000);

afterAll(async () => {
  await proxy?.stop(0);
  app?.closeAllConnections();
  await new Promise((r) => app?.close(r));
  for (const b of backends) {
    b.closeAllConnections();
    await new Promise((r) => b.close(r));
  }
  await work?.cleanup();
});

describe('SPIFFE validator, downstream (client certificates)', () => {
  it("accepts a.local's identity verified against a.local's bundle", async () => {
    expect(await inbound(certs.client, '/hello')).toEqual({ status: 200, body: 'app /hello' });
  });

  it("refuses a certificate from b.local's CA that claims an a.local identity (bundles are per trust domain, not merged)", async () => {
    expect(parseSpiffeId(CLIENT_ID).trustDomain).toBe('a.local');
    const answer = await inbound(certs.forgedByB);
    expect(answer.status).toBeUndefined();
    expect(answer.error).toBeDefined();
  });

  it('refuses a trust domain without a bundle, even when its chain ends at a trusted root', async () => {
    expect((await inbound(certs.unknownDomain)).status).toBeUndefined();
  });

  it('refuses a connection without a client certificate', async () => {
    expect((await inbound(undefined)).status).toBeUndefined();
  });

  it('applies URI SAN matchers after the trust domain check', async () => {
    expect((await inbound(certs.otherA)).status).toBeUndefined();
  });

  it('counts the refusals after the handshake as verification errors', () => {
    const failed = proxy.stats.samples().find((s) => s.name.endsWith('ssl.fail_verify_error'));
    expect(failed?.value).toBeGreaterThanOrEqual(2);
  });
});

describe('SPIFFE validator, upstream (TLS origination)', () => {
  it("connects to b.local's server, presenting a.local's client certificate", async () => {
    expect(await outbound('/good/x')).toEqual({ status: 200, body: 'good /good/x' });
    expect(backendSaw.good).toEqual([`URI:${CLIENT_ID}`]);
  });

  it("refuses a server whose b.local identity was minted by a.local's CA", async () => {
    const answer = await outbound('/forged');
    expect(answer.status).toBe(503);
    expect(backendSaw.forged).toEqual([]);
  });

  it('refuses a server of a trust domain without a bundle', async () => {
    expect((await outbound('/unknown')).status).toBe(503);
    expect(backendSaw.unknown).toEqual([]);
  });
});

describe('SPIFFE validator config errors name the field', () => {
  const base = (vc: CertificateValidationContext): DownstreamTlsContext => ({
    common_tls_context: {
      tls_certificates: [{ certificate_chain: { filename: files['server.pem'] as string }, private_key: { filename: files['server-key.pem'] as string } }],
      validation_context: vc,
    },
  });
  const compile = (vc: CertificateValidationContext) => () => compileDownstreamTls(base(vc), work.dir, 'listeners[0].filter_chains[0].transport_socket.typed_config');
  const spiffe = (typed: Record<string, unknown>, name = 'envoy.tls.cert_validator.spiffe'): CertificateValidationContext => ({
    custom_validator_config: { name, typed_config: { '@type': TYPE_URL.spiffeCertValidatorConfig, ...typed } },
  });
  const vcPath = 'listeners[0].filter_chains[0].transport_socket.typed_config.common_tls_context.validation_context';

  it.each([
    ['an unknown validator', spiffe({ trust_domains: [{ name: 'a.local', trust_bundle: { filename: 'a-root.pem' } }] }, 'envoy.tls.cert_validator.default'), `${vcPath}.custom_validator_config.name: unsupported certificate validator`],
    ['no trust domains', spiffe({ trust_domains: [] }), `${vcPath}.custom_validator_config.typed_config.trust_domains: at least one trust domain`],
    ['a spiffe:// prefix', spiffe({ trust_domains: [{ name: 'spiffe://a.local', trust_bundle: { filename: 'a-root.pem' } }] }), `${vcPath}.custom_validator_config.typed_config.trust_domains[0].name: write the trust domain without "spiffe://"`],
    ['a duplicate domain', spiffe({ trust_domains: [{ name: 'a.local', trust_bundle: { filename: 'a-root.pem' } }, { name: 'a.local', trust_bundle: { filename: 'b-root.pem' } }] }), 'trust_domains[1].name: trust domain "a.local" has more than one trust bundle'],
    ['a missing bundle file', spiffe({ trust_domains: [{ name: 'a.local', trust_bundle: { filename: 'missing.pem' } }] }), 'trust_domains[0].trust_bundle.filename: cannot read'],
    ['a bundle without certificates', spiffe({ trust_domains: [{ name: 'a.local', trust_bundle: { inline_string: 'not a pem' } }] }), 'trust_domains[0].trust_bundle: '],
    ['a DNS SAN matcher', { ...spiffe({ trust_domains: [{ name: 'a.local', trust_bundle: { filename: 'a-root.pem' } }] }), match_typed_subject_alt_names: [{ san_type: 'DNS' as const, matcher: { exact: 'a.local' } }] }, `${vcPath}.match_typed_subject_alt_names[0].san_type: envoy.tls.cert_validator.spiffe matches URI SANs`],
  ])('%s', (_what, vc, message) => {
    expect(compile(vc)).toThrow(message);
  });

  it('an upstream context reports the same errors as cluster config errors', async () => {
    await expect(compileUpstreamTls({ common_tls_context: { validation_context: spiffe({ trust_domains: [] }) } }, work.dir, 'clusters[0].transport_socket.typed_config'))
      .rejects.toThrow('clusters[0].transport_socket.typed_config.common_tls_context.validation_context.custom_validator_config.typed_config.trust_domains');
  });
});

describe('SPIFFE validator config on the wire', () => {
  it('an SDS Secret carrying it survives proto encoding and the proxy\'s schema check', () => {
    const secret = {
      name: 'ROOTCA',
      validation_context: {
        custom_validator_config: {
          name: 'envoy.tls.cert_validator.spiffe',
          typed_config: { '@type': TYPE_URL.spiffeCertValidatorConfig, trust_domains: [{ name: 'a.local', trust_bundle: { inline_string: 'PEM' } }] },
        },
      },
    };
    const decoded = decodeAny(encodeAny(TYPE_URL.secret, secret));
    expect(decoded).toEqual(secret);
    expect(validateMessage(decoded, 'Secret').valid).toBe(true);
    const bad = validateMessage({ name: 'ROOTCA', validation_context: { custom_validator_config: { name: 'envoy.tls.cert_validator.spiffe', typed_config: { '@type': TYPE_URL.spiffeCertValidatorConfig, trust_domains: [{ name: 'a.local' }] } } } }, 'Secret', 'secrets[0]');
    expect(bad.valid).toBe(false);
    expect(JSON.stringify(bad)).toContain('trust_domains[0].trust_bundle');
  });
});
