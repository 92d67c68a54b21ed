import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, freePort, gatewayToUpstream, httpGet, isthmusCli, randomNet, startIsthmus, stopChild } from './helpers/mesh.js';
import type { Started } from './helpers/mesh.js';

/**
 * Issue 7: proxies authenticate to the control plane with their certificate, or a bootstrap token the
 * first time. A control plane with only xDS over TLS (Istio's 15012; the plaintext 15010 turned off) and
 * its CA service; gateway proxies started as a user would, with tokens and certificates from the CLI.
 */

const NET = randomNet();
const ID = 'spiffe://cluster.local/ns/ns/sa/gw';
const nodeId = (n: number, namespace = 'ns') => `router~${NET}.${n}~gw-${n}.${namespace}~${namespace}.svc.cluster.local`;
const READY = /ready: xDS off, management (http:\/\/127\.0\.0\.1:\d+), xDS TLS (127\.0\.0\.1:\d+), CA 127\.0\.0\.1:(\d+)/;


interface Row {
  nodeId: string;
  types: Record<string, { state: string }>;
  identity: { principal: string; method: string; serial?: string };
}

describe('proxies authenticate to the control plane over TLS', { timeout: 180_000 }, () => {
  let dir: string;
  let configDir: string;
  let state: string;
  let rootFile: string;
  let cp: Started | undefined;
  let server = '';
  let xdsTls = '';
  let ports: { tls: number; ca: number };
  const upstreams: Server[] = [];
  const upstreamPorts: number[] = [];
  const proxies: Started[] = [];

  const startCp = async () => {
    cp = await startIsthmus(['controlplane', '--state-dir', state, '--config-dir', configDir, '--management-address', '127.0.0.1:0', '--xds-address', 'off',
      '--xds-tls-address', `127.0.0.1:${ports.tls}`, '--ca-address', `127.0.0.1:${ports.ca}`], READY);
    server = cp.match[1] as string;
    xdsTls = cp.match[2] as string;
  };
  const rows = async (): Promise<Row[]> => {
    const res = await isthmusCli(server, ['proxy-status', '-o', 'json']);
    return res.code === 0 ? (JSON.parse(res.stdout) as Row[]) : [];
  };
  const row = async (id: string) => (await rows()).find((r) => r.nodeId === id);
  const synced = (r: Row | undefined) => r?.types.CDS?.state === 'SYNCED' && r.types.LDS?.state === 'SYNCED';
  const token = async (spiffe = ID): Promise<string> => {
    const res = await isthmusCli(server, ['ca', 'token', '--ca', join(state, 'ca', 'mesh-ca'), '--spiffe', spiffe, '--ttl', '10m']);
    expect(res.stderr).toBe('');
    return res.stdout.trim();
  };
  const gateway = async (n: number, flags: string[], ready = /connected to the control plane/): Promise<Started> => {
    const started = await startIsthmus(['proxy', '--xds', xdsTls, '--xds-tls', '--ca-root', rootFile, '--proxy-type', 'router', '--node-id', nodeId(n), '--ip', `${NET}.${n}`,
      '--namespace', 'ns', '--label', 'app=gw', '--port-map', '80:8080', '--drain-time-s', '0', ...flags], ready);
    proxies.push(started);
    return started;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-xds-auth-'));
    configDir = join(dir, 'config');
    state = join(dir, 'state');
    rootFile = join(state, 'ca', 'root', 'root-cert.pem');
    mkdirSync(configDir);
    for (const body of ['one', 'two']) {
      const s = createServer((_req, res) => res.end(body));
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      upstreams.push(s);
      upstreamPorts.push((s.address() as { port: number }).port);
    }
    writeFileSync(join(configDir, 'gateway.yaml'), gatewayToUpstream(upstreamPorts[0] as number));
    ports = { tls: await freePort(), ca: await freePort() };
    await startCp();
  }, 60_000);

  afterAll(async () => {
    for (const p of proxies) await stopChild(p.child, 'SIGKILL');
    await stopChild(cp?.child);
    for (const s of upstreams) await new Promise((r) => s.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a gateway with only a bootstrap token gets SYNCED over TLS and serves traffic', async () => {
    const started = await gateway(1, ['--bootstrap-token', await token()]);
    expect(started.output()).toMatch(/"auth":"tls \(no client certificate\), token"[^\n]*connected to the control plane/);
    const r = await eventually(() => row(nodeId(1)), synced);
    expect(r?.identity).toEqual({ principal: ID, method: 'token' });
    const table = await isthmusCli(server, ['proxy-status']);
    expect(table.stdout).toMatch(/^NAME\s+CLUSTER\s+CDS\s+LDS\s+EDS\s+RDS\s+ECDS\s+ISTIOD\s+VERSION\s+AUTH\s*\n/);
    expect(table.stdout).toMatch(/^gw-1\.ns\s.*\stoken\s*$/m);
    expect(await eventually(() => httpGet(`http://${NET}.1:8080/`), (res) => res.status === 200)).toMatchObject({ status: 200, body: 'one' });
  });

  it('garbage bytes and plaintext HTTP/2 on the TLS port do not disturb the connected proxy', async () => {
    const port = Number(xdsTls.split(':')[1]);
    for (let i = 0; i < 5; i++) {
      const garbage = netConnect(port, '127.0.0.1');
      garbage.on('error', () => undefined);
      garbage.resume();
      garbage.end(Buffer.from('\x16\x03\x01\x00\x40'.padEnd(300, '\u00ff')));
      await new Promise((r) => garbage.once('close', r));
      const h2c = h2connect(`http://${xdsTls}`);
      h2c.on('error', () => undefined);
      const req = h2c.request({ ':method': 'POST', ':path': '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', 'content-type': 'application/grpc' });
      req.on('error', () => undefined);
      req.end(Buffer.from([0, 0, 0, 0, 0]));
      await new Promise((r) => h2c.once('close', r));
    }
    // A config change still reaches the proxy on its first (and only) stream.
    writeFileSync(join(configDir, 'gateway.yaml'), gatewayToUpstream(upstreamPorts[1] as number));
    expect(await eventually(() => httpGet(`http://${NET}.1:8080/`), (res) => res.body === 'two')).toMatchObject({ status: 200, body: 'two' });
    const output = proxies[0]?.output() ?? '';
    expect(output.match(/connected to the control plane/g)).toHaveLength(1);
    expect(output).not.toContain('xDS stream closed');
  });

  it('a proxy with neither certificate nor token is refused, and its log says why and what to do', async () => {
    const started = await gateway(3, [], /[^\n]*the control plane refused this proxy[^\n]*/);
    const line = started.match[0];
    expect(line).toContain('presented neither a client certificate that verifies against the mesh roots');
    expect(line).toContain('fix:');
    expect(started.output()).toContain('--xds-tls without --ca-address or --bootstrap-token');
    expect(await row(nodeId(3))).toBeUndefined();
    // proxy-status names who knocked (by address: the credentials failed before the node was named).
    const status = await isthmusCli(server, ['proxy-status']);
    expect(status.stderr).toMatch(/refused: \(unauthenticated [^)]*127\.0\.0\.1:\d+\) [^\n]*presented neither/);
  });

  it('Envoy bootstrap form: a certificate from the mesh CA is accepted; one from another CA is refused', async () => {
    const meshCert = join(dir, 'mesh-cert');
    const otherCa = join(dir, 'other-ca');
    const otherCert = join(dir, 'other-cert');
    for (const args of [
      ['ca', 'issue', '--ca', join(state, 'ca', 'mesh-ca'), '--spiffe', ID, '--out', meshCert],
      ['ca', 'init', '--dir', otherCa, '--trust-domain', 'cluster.local'],
      ['ca', 'issue', '--ca', otherCa, '--spiffe', ID, '--out', otherCert],
    ]) {
      const res = await isthmusCli(server, args);
      expect(res.code, res.stderr).toBe(0);
    }
    const bootstrap = (n: number, certDir: string): string => {
      const file = join(dir, `bootstrap-${n}.yaml`);
      const [host, port] = xdsTls.split(':');
      writeFileSync(file, `node:
  id: ${nodeId(n)}
  cluster: gw
  metadata: { NAMESPACE: ns, PROXY_TYPE: router, LABELS: { app: gw }, PORT_MAP: "80:8080", INSTANCE_IPS: ${NET}.${n} }
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services: [{ envoy_grpc: { cluster_name: xds-grpc } }]
  cds_config: { ads: {}, resource_api_version: V3 }
  lds_config: { ads: {}, resource_api_version: V3 }
static_resources:
  clusters:
  - name: xds-grpc
    type: STATIC
    connect_timeout: 1s
    http2_protocol_options: {}
    load_assignment:
      cluster_name: xds-grpc
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: ${host}, port_value: ${port} } } } }] }]
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        sni: istiod.istio-system.svc
        common_tls_context:
          tls_certificates: [{ certificate_chain: { filename: ${join(certDir, 'cert.pem')} }, private_key: { filename: ${join(certDir, 'key.pem')} } }]
          validation_context:
            trusted_ca: { filename: ${rootFile} }
            match_typed_subject_alt_names: [{ san_type: DNS, matcher: { exact: istiod.istio-system.svc } }]
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
`);
      return file;
    };
    const accepted = await startIsthmus(['proxy', '-c', bootstrap(4, meshCert), '--ip', `${NET}.4`, '--drain-time-s', '0'], /connected to the control plane/);
    proxies.push(accepted);
    const r = await eventually(() => row(nodeId(4)), synced);
    expect(r?.identity).toMatchObject({ principal: ID, method: 'mtls' });

    const refused = await startIsthmus(['proxy', '-c', bootstrap(5, otherCert), '--ip', `${NET}.5`, '--drain-time-s', '0'], /[^\n]*the control plane refused this proxy[^\n]*/);
    proxies.push(refused);
    expect(refused.match[0]).toContain('UNAUTHENTICATED');
    expect(refused.match[0]).toContain('one from another CA, or expired, counts as none');
    expect(await row(nodeId(5))).toBeUndefined();
  });

  it('a certificate of namespace "ns" with a node in namespace "other" is refused, naming both', async () => {
    const started = await startIsthmus(['proxy', '--xds', xdsTls, '--xds-tls', '--ca-root', rootFile, '--proxy-type', 'router', '--node-id', nodeId(6, 'other'), '--ip', `${NET}.6`,
      '--namespace', 'other', '--label', 'app=gw', '--port-map', '80:8080', '--drain-time-s', '0',
      '--ca-address', `127.0.0.1:${ports.ca}`, '--spiffe', ID, '--bootstrap-token', await token()], /[^\n]*the control plane refused this proxy[^\n]*/);
    proxies.push(started);
    const line = started.match[0];
    expect(line).toContain('PERMISSION_DENIED');
    expect(line).toContain('metadata NAMESPACE \\"other\\"');
    expect(line).toContain(`${ID} of namespace \\"ns\\"`);
    expect(await row(nodeId(6, 'other'))).toBeUndefined();
    const status = await isthmusCli(server, ['proxy-status']);
    expect(status.stderr).toContain(`refused: gw-6.other (`);
    expect(status.stderr).toContain(`claims metadata NAMESPACE "other" but authenticated as ${ID} of namespace "ns"`);
  });

  it('with its workload certificate once it has one; after renewal, the next reconnect presents the new certificate', async () => {
    const started = await gateway(7, ['--ca-address', `127.0.0.1:${ports.ca}`, '--spiffe', ID, '--bootstrap-token', await token(), '--cert-ttl', '16s']);
    const installed = () => [...started.output().matchAll(/"serial":"([0-9a-f]+)"[^\n]*workload certificate installed/gi)].map((m) => m[1] as string);
    const first = installed()[0];
    expect(first).toBeDefined();
    const before = await eventually(() => row(nodeId(7)), synced);
    expect(before?.identity).toEqual({ principal: ID, method: 'mtls', serial: first });

    // Renewed halfway through its 16 s, then the control plane restarts: the proxies reconnect while the
    // renewed certificate is still valid (one that expired while the CA was away counts as none).
    await eventually(async () => installed().length, (count) => count >= 2, 30_000);
    await stopChild(cp?.child);
    await startCp();
    const after = await eventually(() => row(nodeId(7)), (r) => synced(r) && r?.identity.serial !== first, 30_000);
    expect(after?.identity.method).toBe('mtls');
    expect(after?.identity.serial).not.toBe(first);
    expect(installed()).toContain(after?.identity.serial);
    // The token-only gateway came back too, and serves.
    expect((await eventually(() => row(nodeId(1)), synced))?.identity.method).toBe('token');
  });
});
