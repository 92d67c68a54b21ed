// xDS over TLS (Istio's 15012) with the control plane's own authorities: real TLS, real grpc-js clients.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../../src/envoy/index.js';
import type { XdsNode } from '../../../src/envoy/index.js';
import { CertificateAuthority, exportPrivateKeyPem, issueBootstrapToken, toPem } from '../../../src/pki/index.js';
import { MeshCertificateAuthorities, XdsTlsEndpoint } from '../../../src/controlplane/index.js';
import { SnapshotCache, XdsServer } from '../../../src/controlplane/xds/index.js';
import { SotwClient, meshSnapshot } from './helpers.js';

const SERVER_NAME = 'istiod.istio-system.svc';
const APPS_ID = 'spiffe://cluster.local/ns/apps/sa/gw';
const APPS_NODE: XdsNode = { id: 'router~127.0.0.1~gw-1.apps~apps.svc.cluster.local', metadata: { NAMESPACE: 'apps' } };

interface Workload {
  readonly certChain: Buffer;
  readonly key: Buffer;
  readonly serial: string;
}

async function workload(ca: CertificateAuthority, spiffeId: string): Promise<Workload> {
  const issued = await ca.issueWithNewKey({ spiffeId });
  return {
    certChain: Buffer.from(toPem([issued.certificate, ...issued.chain.filter((c) => c.subject !== c.issuer)])),
    key: Buffer.from(await exportPrivateKeyPem(issued.keys.privateKey)),
    serial: issued.certificate.serialNumber,
  };
}

/** A control plane's ADS over TLS on a free port, with its authorities in a fresh state dir. */
async function startTlsXds(): Promise<{ authorities: MeshCertificateAuthorities; endpoint: XdsTlsEndpoint; server: XdsServer; cache: SnapshotCache; port: number; close(): Promise<void> }> {
  const state = mkdtempSync(join(tmpdir(), 'isthmus-xds-tls-'));
  const authorities = await MeshCertificateAuthorities.open(state, { trustDomain: 'cluster.local' });
  const endpoint = await XdsTlsEndpoint.start(authorities);
  const cache = new SnapshotCache({ debounceMs: 0 });
  const server = new XdsServer({ cache, onNodeConnected: (node) => cache.setSnapshot(node.id as string, meshSnapshot(1)) });
  const port = await server.listen('127.0.0.1:0', endpoint.credentials.credentials, endpoint.authenticate);
  return {
    authorities, endpoint, server, cache, port,
    close: async () => {
      endpoint.stop();
      await server.close();
      cache.close();
      rmSync(state, { recursive: true, force: true });
    },
  };
}

describe('ADS over TLS, authenticated by workload certificate or bootstrap token', () => {
  let xds: Awaited<ReturnType<typeof startTlsXds>>;
  let rootPem: Buffer;
  const clients: SotwClient[] = [];

  beforeAll(async () => {
    xds = await startTlsXds();
    rootPem = Buffer.from(xds.authorities.rootsPem());
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await xds.close();
  });

  function dial(node: XdsNode, how: { cert?: Workload; token?: string; roots?: Buffer } = {}): SotwClient {
    const credentials = grpc.credentials.createSsl(how.roots ?? rootPem, how.cert?.key ?? null, how.cert?.certChain ?? null);
    const metadata = new grpc.Metadata();
    if (how.token) metadata.set('authorization', `Bearer ${how.token}`);
    // Dialled by IP: the certificate must name istiod's service, which the client checks.
    const client = new SotwClient(`127.0.0.1:${xds.port}`, node, { credentials, metadata, channelOptions: { 'grpc.ssl_target_name_override': SERVER_NAME } });
    clients.push(client);
    return client;
  }

  it('presents a mesh-CA certificate naming istiod.istio-system.svc and the control plane SPIFFE ID, and asks for a client certificate', async () => {
    const socket = tlsConnect({ host: '127.0.0.1', port: xds.port, servername: SERVER_NAME, ca: rootPem, ALPNProtocols: ['h2'] });
    const result = await new Promise<{ authorized: boolean; sans: string }>((resolve, reject) => {
      socket.once('secureConnect', () => resolve({ authorized: socket.authorized, sans: socket.getPeerCertificate().subjectaltname ?? '' }));
      socket.once('error', reject);
    });
    socket.destroy();
    expect(result.authorized).toBe(true);
    expect(result.sans).toContain(`DNS:${SERVER_NAME}`);
    expect(result.sans).toContain('URI:spiffe://cluster.local/ns/istio-system/sa/istiod-service-account');
  });

  it('serves a proxy that has only a bootstrap token, as the identity the token names', async () => {
    const token = await issueBootstrapToken(xds.authorities.mesh, APPS_ID, 60_000);
    const client = dial(APPS_NODE, { token });
    client.request(TYPE_URL.cluster);
    expect((await client.next(TYPE_URL.cluster)).version_info).toBe('v1');
    expect(xds.server.proxyStatus().find((p) => p.nodeId === APPS_NODE.id)?.identity).toEqual({ principal: APPS_ID, method: 'token' });
    client.close();
  });

  it('takes the workload certificate over a token, and records its serial', async () => {
    const cert = await workload(xds.authorities.mesh, APPS_ID);
    const node = { ...APPS_NODE, id: 'router~127.0.0.1~gw-2.apps~apps.svc.cluster.local' };
    const client = dial(node, { cert, token: 'not-a-token' });
    client.request(TYPE_URL.cluster);
    expect((await client.next(TYPE_URL.cluster)).version_info).toBe('v1');
    expect(xds.server.proxyStatus().find((p) => p.nodeId === node.id)?.identity).toEqual({ principal: APPS_ID, method: 'mtls', serial: cert.serial });
    client.close();
  });

  it('refuses a caller with neither, UNAUTHENTICATED with the fix, while an authenticated stream keeps being served', async () => {
    const cert = await workload(xds.authorities.mesh, APPS_ID);
    const node = { ...APPS_NODE, id: 'router~127.0.0.1~gw-3.apps~apps.svc.cluster.local' };
    const good = dial(node, { cert });
    good.request(TYPE_URL.cluster);
    const first = await good.next(TYPE_URL.cluster);
    good.ack(first);

    const anonymous = dial({ ...APPS_NODE, id: 'router~127.0.0.1~anon.apps~apps.svc.cluster.local' });
    anonymous.request(TYPE_URL.cluster);
    const status = await anonymous.inbox.waitForEnd();
    expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(status.details).toContain('neither a client certificate that verifies against the mesh roots');
    expect(status.details).toContain('fix:');
    expect(anonymous.inbox.received).toEqual([]);

    xds.cache.setSnapshot(node.id, meshSnapshot(2));
    expect((await good.next(TYPE_URL.cluster)).version_info).toBe('v2');
    good.close();
  });

  it('refuses a certificate from another CA for the same SPIFFE ID, and a token another CA signed', async () => {
    const otherRoot = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
    const other = await otherRoot.createIntermediate({ name: 'mesh-ca' });
    const forged = dial(APPS_NODE, { cert: await workload(other, APPS_ID) });
    forged.request(TYPE_URL.cluster);
    const byCert = await forged.inbox.waitForEnd();
    expect(byCert.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(byCert.details).toContain('one from another CA, or expired, counts as none');

    const forgedToken = dial(APPS_NODE, { token: await issueBootstrapToken(other, APPS_ID, 60_000) });
    forgedToken.request(TYPE_URL.cluster);
    const byToken = await forgedToken.inbox.waitForEnd();
    expect(byToken.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(byToken.details).toContain('the bearer token was refused: the bootstrap token is not valid');
    expect(xds.server.proxyStatus().some((p) => p.nodeId === APPS_NODE.id)).toBe(false);
  });

  it('binds the identity to the node: a namespace or service account other than the SPIFFE ID\'s is PERMISSION_DENIED, naming both', async () => {
    const cert = await workload(xds.authorities.mesh, APPS_ID);
    const token = await issueBootstrapToken(xds.authorities.mesh, APPS_ID, 60_000);
    const cases: Array<{ node: XdsNode; how: { cert?: Workload; token?: string }; says: string[] }> = [
      // metadata NAMESPACE (what the control plane serves config for) says another namespace
      { node: { id: 'router~127.0.0.1~gw.other~other.svc.cluster.local', metadata: { NAMESPACE: 'other' } }, how: { cert }, says: ['metadata NAMESPACE "other"', APPS_ID, 'namespace "apps"'] },
      // the node id says another namespace, the metadata agrees with the certificate
      { node: { id: 'router~127.0.0.1~gw.other~other.svc.cluster.local', metadata: { NAMESPACE: 'apps' } }, how: { cert }, says: ['node id namespace "other"', 'namespace "apps"'] },
      // the same with a token
      { node: { id: 'router~127.0.0.1~gw.other~other.svc.cluster.local', metadata: { NAMESPACE: 'other' } }, how: { token }, says: ['"other"', APPS_ID] },
      // no namespace at all: the control plane would serve "default"
      { node: { id: 'bare-node' }, how: { cert }, says: ['"default"', 'namespace "apps"'] },
      { node: { ...APPS_NODE, metadata: { NAMESPACE: 'apps', SERVICE_ACCOUNT: 'admin' } }, how: { cert }, says: ['SERVICE_ACCOUNT "admin"', 'service account "gw"'] },
    ];
    for (const c of cases) {
      const client = dial(c.node, c.how);
      client.request(TYPE_URL.cluster);
      const status = await client.inbox.waitForEnd();
      expect(status.code, c.node.id).toBe(grpc.status.PERMISSION_DENIED);
      for (const s of c.says) expect(status.details).toContain(s);
      expect(client.inbox.received).toEqual([]);
    }
    expect(xds.server.proxyStatus().filter((p) => p.nodeId.includes('other') || p.nodeId === 'bare-node')).toEqual([]);
  });

  it('garbage bytes and plaintext HTTP/2 on the TLS port are dropped; an open stream keeps getting pushes', async () => {
    const cert = await workload(xds.authorities.mesh, APPS_ID);
    const node = { ...APPS_NODE, id: 'router~127.0.0.1~gw-4.apps~apps.svc.cluster.local' };
    const good = dial(node, { cert });
    good.request(TYPE_URL.cluster);
    good.ack(await good.next(TYPE_URL.cluster));
    const connectionId = xds.server.proxyStatus().find((p) => p.nodeId === node.id)?.connectionId;

    const garbage = netConnect(xds.port, '127.0.0.1');
    garbage.on('error', () => undefined);
    garbage.resume(); // read the TLS alert, so the server's close is seen
    await new Promise<void>((resolve) => garbage.once('connect', () => resolve()));
    garbage.write(Buffer.from('\x16\x03\x01\x02\x00 this is not a ClientHello \r\n\r\n'.repeat(50)));
    await new Promise<void>((resolve) => garbage.once('close', () => resolve()));

    const h2c = h2connect(`http://127.0.0.1:${xds.port}`);
    const h2cEnded = new Promise<string>((resolve) => {
      h2c.once('error', (err) => resolve(`error: ${err.message}`));
      h2c.once('close', () => resolve('closed'));
    });
    const req = h2c.request({ ':method': 'POST', ':path': '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', 'content-type': 'application/grpc' });
    req.on('error', () => undefined);
    req.end();
    expect(await h2cEnded).toBeTruthy();
    h2c.destroy();

    xds.cache.setSnapshot(node.id, meshSnapshot(3));
    expect((await good.next(TYPE_URL.cluster)).version_info).toBe('v3');
    expect(xds.server.proxyStatus().find((p) => p.nodeId === node.id)?.connectionId).toBe(connectionId);
    good.close();
  });
});

describe('ADS over TLS across a root rotation', () => {
  it('presents a certificate of the new hierarchy and accepts workload certificates from before and after', async () => {
    const xds = await startTlsXds();
    try {
      const before = await workload(xds.authorities.mesh, APPS_ID);
      await xds.authorities.rotateRoot();
      await xds.endpoint.refresh();
      const after = await workload(xds.authorities.mesh, APPS_ID);
      const newRootOnly = Buffer.from(toPem(xds.authorities.roots().slice(0, 1)));
      for (const [i, cert] of [before, after].entries()) {
        const node = { ...APPS_NODE, id: `router~127.0.0.1~gw-r${i}.apps~apps.svc.cluster.local` };
        const client = new SotwClient(`127.0.0.1:${xds.port}`, node, {
          // Trusting only the new root proves the serving certificate comes from the new hierarchy.
          credentials: grpc.credentials.createSsl(newRootOnly, cert.key, cert.certChain),
          channelOptions: { 'grpc.ssl_target_name_override': SERVER_NAME },
        });
        try {
          client.request(TYPE_URL.cluster);
          expect((await client.next(TYPE_URL.cluster)).version_info).toBe('v1');
          expect(xds.server.proxyStatus().find((p) => p.nodeId === node.id)?.identity).toMatchObject({ method: 'mtls', serial: cert.serial });
        } finally {
          client.close();
        }
      }
    } finally {
      await xds.close();
    }
  });
});
