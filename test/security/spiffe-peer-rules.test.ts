/**
 * X509-SVID rules for mesh peers: a workload presenting a SPIFFE identity must carry exactly one URI SAN
 * (its SPIFFE ID) and must not be a CA (basicConstraints CA:TRUE, keyCertSign/cRLSign). Otherwise a
 * certificate with two identities could pass as either, and a leaf that is a CA could mint identities.
 * OpenSSL's chain verification accepts all of these when they chain to the mesh root. The listener and
 * cluster contexts are the ones the control plane generates for ISTIO_MUTUAL (inbound sidecar mTLS and
 * outbound origination), with the workload certificate and root delivered over SDS.
 */
import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundMtlsContext } from '../../src/controlplane/translate/sidecar-inbound.js';
import { buildUpstreamTls } from '../../src/controlplane/translate/tls.js';
import { exportPrivateKeyPem, toPem } from '../../src/pki/index.js';
import { issueLeaf, rootCa } from './tls-certs.js';
import type { LeafSpec, Pem } from './tls-certs.js';
import { downstreamTls, hcm, inline, listener, startTlsProxy, staticCluster, tlsGet, upstreamTls } from './tls-fixture.js';
import type { TlsProxy } from './tls-fixture.js';

const TD = 'cluster.local';
const CLIENT_ID = `spiffe://${TD}/ns/apps/sa/client`;
const APP_ID = `spiffe://${TD}/ns/apps/sa/app`;

/** Peer certificates and whether a mesh peer may present them. */
const PEERS: Record<string, { spec: (id: string) => LeafSpec; ok: boolean }> = {
  'an X509-SVID (one SPIFFE URI SAN, not a CA)': { spec: (id) => ({ uris: [id] }), ok: true },
  'an X509-SVID with DNS SANs besides its SPIFFE ID': { spec: (id) => ({ uris: [id], dns: ['app.apps.svc'] }), ok: true },
  'a leaf with basicConstraints CA:TRUE': { spec: (id) => ({ uris: [id], isCa: true }), ok: false },
  'a leaf with CA:TRUE and keyCertSign': { spec: (id) => ({ uris: [id], isCa: true, keyUsage: ['digitalSignature', 'keyCertSign'] }), ok: false },
  'a leaf with keyCertSign': { spec: (id) => ({ uris: [id], keyUsage: ['digitalSignature', 'keyCertSign'] }), ok: false },
  'two SPIFFE URI SANs': { spec: (id) => ({ uris: [id, `spiffe://${TD}/ns/istio-system/sa/admin`] }), ok: false },
  'a SPIFFE URI SAN and another URI SAN': { spec: (id) => ({ uris: [id, 'https://app.example.com/'] }), ok: false },
  'no URI SAN': { spec: () => ({ dns: ['app.apps.svc'] }), ok: false },
};

describe('SPIFFE rules for mesh (ISTIO_MUTUAL) peers', () => {
  let fx: TlsProxy;
  const upstreams: Server[] = [];
  const reached = new Set<string>();
  const clients: Record<string, Pem> = {};

  beforeAll(async () => {
    const root = await rootCa(TD);
    const mesh = await root.ca.createIntermediate({ name: 'mesh-ca' });
    const proxyId = await mesh.issueWithNewKey({ spiffeId: APP_ID });
    fx = await startTlsProxy();
    const applied = fx.proxy.dynamic.applySecrets([
      { name: 'default', tls_certificate: { certificate_chain: inline(toPem([proxyId.certificate, mesh.certificate])), private_key: inline(await exportPrivateKeyPem(proxyId.keys.privateKey)) } },
      { name: 'ROOTCA', validation_context: { trusted_ca: inline(root.pem) } },
    ], 's1');
    if (applied.error) throw new Error(applied.error);

    const clusters = [];
    for (const [i, [name, peer]] of Object.entries(PEERS).entries()) {
      clients[name] = await issueLeaf(mesh, peer.spec(CLIENT_ID));
      // The upstream workload: mTLS server with the variant as its certificate, trusting the mesh root.
      const server = createHttpsServer({ ...(await issueLeaf(mesh, peer.spec(APP_ID))), ca: root.pem, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['istio', 'http/1.1'] }, (_req, res) => {
        reached.add(name);
        res.end('app');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      upstreams.push(server);
      const tls = buildUpstreamTls({
        tls: { mode: 'ISTIO_MUTUAL' },
        clusterName: `app-${i}`,
        istioMtlsSni: 'outbound_.80_._.app.apps.svc.cluster.local',
        credentialsAllowed: false,
        http2: false,
        defaultSans: [APP_ID],
        trust: { verifyCertificateAtClient: false, systemCaBundlePath: '/etc/ssl/certs/ca-certificates.crt', extraTrustedRoots: [] },
        enableAutoSni: false,
      });
      clusters.push(staticCluster(`app-${i}`, (server.address() as { port: number }).port, upstreamTls(tls.context as Record<string, unknown>)));
    }
    await fx.applyClusters(clusters);
    await fx.applyListeners([
      listener('inbound', [{ transport_socket: downstreamTls(inboundMtlsContext(TD, false) as Record<string, unknown>), filters: [hcm('inbound', { body: 'inbound' })] }]),
      // PILOT_SKIP_VALIDATE_TRUST_DOMAIN: no SAN matcher, but a peer that presents a SPIFFE ID is still held to the rules.
      listener('inbound-any-td', [{ transport_socket: downstreamTls(inboundMtlsContext(TD, true) as Record<string, unknown>), filters: [hcm('inbound_any', { body: 'inbound' })] }]),
      ...Object.keys(PEERS).map((_, i) => listener(`to-app-${i}`, [{ filters: [hcm(`to_app_${i}`, { cluster: `app-${i}` })] }])),
    ]);
  }, 90_000);
  afterAll(async () => {
    for (const s of upstreams) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    await fx?.stop();
  });

  it.each(Object.keys(PEERS))('inbound mTLS, a client presenting %s', async (name) => {
    const answer = await tlsGet(fx.port('inbound'), { ...(clients[name] as Pem), ALPNProtocols: ['istio-http/1.1'] });
    if (PEERS[name]?.ok) expect(answer.body).toBe('inbound');
    else expect(answer.status).toBe(0);
  });

  const CLAIMING_SPIFFE_BADLY = ['a leaf with basicConstraints CA:TRUE', 'a leaf with CA:TRUE and keyCertSign', 'a leaf with keyCertSign', 'two SPIFFE URI SANs', 'a SPIFFE URI SAN and another URI SAN'];
  it.each(CLAIMING_SPIFFE_BADLY)('inbound mTLS without SAN matchers, a client presenting %s', async (name) => {
    expect((await tlsGet(fx.port('inbound-any-td'), { ...(clients[name] as Pem) })).status).toBe(0);
  });

  it('inbound mTLS without SAN matchers still accepts a valid SVID', async () => {
    expect((await tlsGet(fx.port('inbound-any-td'), { ...(clients['an X509-SVID (one SPIFFE URI SAN, not a CA)'] as Pem) })).body).toBe('inbound');
  });

  it.each(Object.keys(PEERS))('ISTIO_MUTUAL origination to a server presenting %s', async (name) => {
    const i = Object.keys(PEERS).indexOf(name);
    const res = await fetch(`http://127.0.0.1:${fx.port(`to-app-${i}`)}/`);
    const body = await res.text();
    if (PEERS[name]?.ok) {
      expect(res.status).toBe(200);
      expect(body).toBe('app');
    } else {
      expect(res.status).toBe(503);
      expect(reached.has(name)).toBe(false);
    }
  });
});
