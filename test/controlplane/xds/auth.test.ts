import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../../src/envoy/index.js';
import { CertificateAuthority, exportPrivateKeyPem, toPem } from '../../../src/pki/index.js';
import { SnapshotCache, XdsServer, bearerTokenAuthenticator, peerCertificateAuthenticator } from '../../../src/controlplane/xds/index.js';
import { SotwClient, meshSnapshot } from './helpers.js';

const SERVER_NAME = 'istiod.istio-system.svc';

interface Workload {
  readonly certChain: Buffer;
  readonly key: Buffer;
}

async function workload(ca: CertificateAuthority, spiffeId: string, dnsNames: string[] = []): Promise<Workload> {
  const issued = await ca.issueWithNewKey({ spiffeId, dnsNames });
  return {
    certChain: Buffer.from(toPem([issued.certificate, ...issued.chain.filter((c) => c.subject !== c.issuer)])),
    key: Buffer.from(await exportPrivateKeyPem(issued.keys.privateKey)),
  };
}

describe('authenticating proxies', () => {
  let root: CertificateAuthority;
  let rootPem: Buffer;
  let meshCa: CertificateAuthority;
  let vmCa: CertificateAuthority;
  let cache: SnapshotCache;
  let server: XdsServer;
  let address: string;
  const clients: SotwClient[] = [];

  beforeAll(async () => {
    root = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
    rootPem = Buffer.from(toPem([root.certificate]));
    meshCa = await root.createIntermediate({ name: 'mesh-ca' });
    vmCa = await root.createIntermediate({ name: 'vm-ca', trustDomain: 'vm.local' });
    const serving = await workload(meshCa, 'spiffe://cluster.local/ns/istio-system/sa/istiod', [SERVER_NAME]);
    cache = new SnapshotCache({ debounceMs: 0 });
    server = new XdsServer({
      cache,
      authenticate: peerCertificateAuthenticator({ roots: [root.certificate], intermediates: [meshCa.certificate, vmCa.certificate], trustDomain: 'cluster.local' }),
      onNodeConnected: (node) => cache.setSnapshot(node.id as string, meshSnapshot(1)),
    });
    const port = await server.listen('127.0.0.1:0', grpc.ServerCredentials.createSsl(rootPem, [{ cert_chain: serving.certChain, private_key: serving.key }], true));
    address = `127.0.0.1:${port}`;
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await server.close();
    cache.close();
  });

  function connect(nodeId: string, identity: Workload, namespace?: string): SotwClient {
    const credentials = grpc.credentials.createSsl(rootPem, identity.key, identity.certChain);
    // The server certificate names istiod's service; the test dials 127.0.0.1.
    const client = new SotwClient(address, { id: nodeId, ...(namespace ? { metadata: { NAMESPACE: namespace } } : {}) }, { credentials, channelOptions: { 'grpc.ssl_target_name_override': SERVER_NAME } });
    clients.push(client);
    return client;
  }

  it('takes the SPIFFE ID of a mesh proxy\'s client certificate as its identity', async () => {
    const gateway = await workload(meshCa, 'spiffe://cluster.local/ns/istio-egress/sa/istio-egressgateway');
    const client = connect('egress-1', gateway, 'istio-egress');
    client.request(TYPE_URL.cluster);
    expect((await client.next(TYPE_URL.cluster)).version_info).toBe('v1');
    expect(server.proxyStatus().find((p) => p.nodeId === 'egress-1')?.identity).toEqual({
      principal: 'spiffe://cluster.local/ns/istio-egress/sa/istio-egressgateway',
      method: 'mtls',
      serial: expect.any(String) as string,
    });
  });

  it('refuses a certificate of another trust domain even though TLS accepted it', async () => {
    const vm = await workload(vmCa, 'spiffe://vm.local/vm/vm-1');
    const client = connect('vm-1', vm);
    client.request(TYPE_URL.cluster);
    const status = await client.inbox.waitForEnd();
    expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(status.details).toContain('vm.local');
    expect(client.inbox.received).toEqual([]);
    expect(server.proxyStatus().some((p) => p.nodeId === 'vm-1')).toBe(false);
  });
});

describe('bearer tokens', () => {
  it('accepts a token the verifier vouches for and refuses a missing one', async () => {
    const cache = new SnapshotCache({ debounceMs: 0 });
    cache.setSnapshot('n', meshSnapshot(1));
    const server = new XdsServer({
      cache,
      authenticate: bearerTokenAuthenticator((token) => {
        if (token !== 's3cret') throw new Error('unknown token');
        return 'spiffe://cluster.local/ns/default/sa/vm';
      }),
    });
    const address = `127.0.0.1:${await server.listen('127.0.0.1:0')}`;
    const withToken = new grpc.Metadata();
    withToken.set('authorization', 'Bearer s3cret');
    const good = new SotwClient(address, { id: 'n' }, { metadata: withToken });
    const none = new SotwClient(address, { id: 'n' });
    const wrong = new grpc.Metadata();
    wrong.set('authorization', 'Bearer guess');
    const bad = new SotwClient(address, { id: 'n' }, { metadata: wrong });
    try {
      good.request(TYPE_URL.cluster);
      expect((await good.next(TYPE_URL.cluster)).version_info).toBe('v1');
      expect(server.proxyStatus()[0]?.identity).toEqual({ principal: 'spiffe://cluster.local/ns/default/sa/vm', method: 'token' });
      none.request(TYPE_URL.cluster);
      expect((await none.inbox.waitForEnd()).details).toContain('authorization');
      bad.request(TYPE_URL.cluster);
      const refused = await bad.inbox.waitForEnd();
      expect(refused.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(refused.details).toContain('unknown token');
    } finally {
      for (const c of [good, none, bad]) c.close();
      await server.close();
      cache.close();
    }
  });
});
