// The proxy's side of authenticated xDS: what adsTarget builds from an Envoy bootstrap, against a real TLS xDS server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoveryCodec } from '../../../src/envoy/index.js';
import type { Bootstrap, DiscoveryRequest, DiscoveryResponse } from '../../../src/envoy/index.js';
import { MeshCertificateAuthorities, XdsTlsEndpoint } from '../../../src/controlplane/index.js';
import { SnapshotCache, XdsServer } from '../../../src/controlplane/xds/index.js';
import { issueBootstrapToken } from '../../../src/pki/index.js';
import { SecretStore } from '../../../src/proxy/tls/sds.js';
import { adsTarget, redactAdsCredentials } from '../../../src/proxy/xds-client/connect.js';
import type { AdsConnection } from '../../../src/proxy/xds-client/connect.js';
import { xdsBootstrap } from '../../../src/proxy/xds-client/bootstrap.js';
import { meshSnapshot } from '../../controlplane/xds/helpers.js';

const ID = 'spiffe://cluster.local/ns/apps/sa/gw';
const NODE = { id: 'router~127.0.0.1~gw-1.apps~apps.svc.cluster.local', metadata: { NAMESPACE: 'apps' } };
const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const inline = (pem: string) => ({ inline_string: pem });

/** Opens one ADS stream with what the proxy would present; resolves with the first response or the end status. */
function firstAnswer(address: string, serverName: string | undefined, connection: AdsConnection): Promise<{ version?: string; code?: grpc.status; details?: string }> {
  const client = new grpc.Client(address, connection.credentials, { 'grpc.use_local_subchannel_pool': 1, ...(serverName ? { 'grpc.ssl_target_name_override': serverName } : {}) });
  return new Promise((resolve) => {
    const call = client.makeBidiStreamRequest<DiscoveryRequest, DiscoveryResponse>(ADS, (r) => discoveryCodec.encodeRequest(r), (b) => discoveryCodec.decodeResponse(b), connection.metadata);
    call.on('data', (response: DiscoveryResponse) => {
      resolve({ version: response.version_info });
      call.cancel();
      client.close();
    });
    call.on('error', (err: grpc.ServiceError) => {
      resolve({ code: err.code, details: err.details });
      client.close();
    });
    call.write({ node: NODE, type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', resource_names: [], version_info: '', response_nonce: '' });
  });
}

describe('adsTarget: TLS to the control plane from the bootstrap', () => {
  let state: string;
  let authorities: MeshCertificateAuthorities;
  let endpoint: XdsTlsEndpoint;
  let server: XdsServer;
  let cache: SnapshotCache;
  let address: string;

  beforeAll(async () => {
    state = mkdtempSync(join(tmpdir(), 'isthmus-ads-target-'));
    authorities = await MeshCertificateAuthorities.open(state, { trustDomain: 'cluster.local' });
    endpoint = await XdsTlsEndpoint.start(authorities);
    cache = new SnapshotCache({ debounceMs: 0 });
    server = new XdsServer({ cache, onNodeConnected: (node) => cache.setSnapshot(node.id as string, meshSnapshot(1)) });
    address = `127.0.0.1:${await server.listen('127.0.0.1:0', endpoint.credentials.credentials, endpoint.authenticate)}`;
  });

  afterAll(async () => {
    endpoint.stop();
    await server.close();
    cache.close();
    rmSync(state, { recursive: true, force: true });
  });

  /** The --xds-tls bootstrap, with the CA file written out and the workload certificate from SDS "default". */
  function bootstrap(token?: string, sans?: string[]): Bootstrap {
    const caFile = join(state, 'ca', 'root', 'root-cert.pem');
    const b = xdsBootstrap({ address, nodeId: NODE.id, tls: { caFile, serverName: 'istiod.istio-system.svc', certificateSecret: 'default' }, ...(token ? { token } : {}) });
    if (sans) {
      const tls = b.static_resources?.clusters?.[0]?.transport_socket?.typed_config as unknown as { common_tls_context: { validation_context: Record<string, unknown> } };
      tls.common_tls_context.validation_context.match_typed_subject_alt_names = sans.map((exact) => ({ san_type: 'DNS', matcher: { exact } }));
    }
    return b;
  }

  it('sends the token before there is a certificate, and the SDS certificate once it is there (new connection key)', async () => {
    const secrets = new SecretStore();
    const target = adsTarget(bootstrap(await issueBootstrapToken(authorities.mesh, ID, 60_000)), state, secrets);
    if (!target) throw new Error('no ADS target');
    const before = target.connection();
    expect(before.auth).toBe('tls (no client certificate), token');
    expect(before.metadata.get('authorization')[0]).toMatch(/^Bearer ey/);
    expect(await firstAnswer(target.address, target.serverName, before)).toEqual({ version: 'v1' });
    expect(server.proxyStatus().find((p) => p.nodeId === NODE.id)?.identity.method).toBe('token');

    const issued = await authorities.issue('mesh', { spiffeId: ID });
    secrets.set([{ name: 'default', tls_certificate: { certificate_chain: inline(issued.certificateChainPem), private_key: inline(issued.privateKeyPem) } }]);
    const after = target.connection();
    expect(after.key).not.toBe(before.key);
    expect(after.auth).toMatch(/^certificate [0-9a-f]+, token$/);
    await new Promise((r) => setTimeout(r, 100)); // the first stream's end reaches the server
    expect(await firstAnswer(target.address, target.serverName, after)).toEqual({ version: 'v1' });
    expect(server.proxyStatus().find((p) => p.nodeId === NODE.id)?.identity).toMatchObject({ principal: ID, method: 'mtls' });
    // Same secret, same key: the client keeps its connection.
    expect(target.connection().key).toBe(after.key);
  });

  it('checks the control plane against the SAN matchers of the validation context', async () => {
    const token = await issueBootstrapToken(authorities.mesh, ID, 60_000);
    const good = adsTarget(bootstrap(token, ['istiod.istio-system.svc']), state, new SecretStore());
    const wrong = adsTarget(bootstrap(token, ['istiod.other-system.svc']), state, new SecretStore());
    if (!good || !wrong) throw new Error('no ADS target');
    expect((await firstAnswer(good.address, good.serverName, good.connection())).version).toBe('v1');
    const refused = await firstAnswer(wrong.address, wrong.serverName, wrong.connection());
    expect(refused.code).toBe(grpc.status.UNAVAILABLE);
    expect(refused.details).toContain('match none of');
  });

  it('names the field when the trusted CA file is missing, at start', () => {
    const b = xdsBootstrap({ address, nodeId: NODE.id, tls: { caFile: join(state, 'nope.pem') } });
    expect(() => adsTarget(b, state)).toThrow(/common_tls_context\.validation_context\.trusted_ca\.filename: cannot read/);
  });

  it('keeps the token out of /config_dump', () => {
    const dumped = JSON.stringify(redactAdsCredentials(bootstrap('secret-token-value')));
    expect(dumped).not.toContain('secret-token-value');
    expect(dumped).toContain('"authorization"');
    expect(dumped).toContain('"value":"[redacted]"');
  });
});
