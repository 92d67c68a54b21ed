import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, run } from '../helpers/index.js';
import { accepts, adminAddress, eventually, startProcess, stop } from './helpers/processes.js';
import type { StartedProcess } from './helpers/processes.js';

/**
 * Kubernetes Services as mesh services: the egress gateway's Service (applied before any pod exists)
 * gets its endpoint from the gateway proxy that connects with --ip, and a sidecar elsewhere gets that
 * endpoint over EDS; the endpoint goes away with the gateway. Each proxy owns one loopback IP, so the
 * gateway listens on Istio's container port 8080 and the sidecar on port 80, as pods would.
 */

// One 127.x.y.0/24 per run: parallel runs (and other engineers' tests) do not share pod IPs.
const NET = `127.${100 + Math.floor(Math.random() * 100)}.${1 + Math.floor(Math.random() * 250)}`;
const GATEWAY_IP = `${NET}.2`;
const SLEEP_IP = `${NET}.3`;
const EDS_CLUSTER = 'outbound|80||istio-egressgateway.istio-egress.svc.cluster.local';
const SEED_EGRESS = join(import.meta.dirname, '..', 'fixtures', 'seeds', '000-9-mesh-a-egress-gateway-virtualservice.yaml');

const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: istio-egressgateway
  namespace: istio-egress
  labels:
    app: istio-egressgateway
spec:
  type: ClusterIP
  selector:
    app: istio-egressgateway
  ports:
  - name: http2
    port: 80
    targetPort: 8080
    protocol: TCP
`;

const text = async (url: string): Promise<string> => (await fetch(url)).text();

describe('control plane: Kubernetes Services with connected proxies as endpoints', { timeout: 90_000 }, () => {
  let dir: string;
  let upstream: Server;
  let upstreamPort: number;
  let cp: ChildProcess | undefined;
  let gateway: StartedProcess | undefined;
  let sleep: StartedProcess | undefined;
  let server: string;
  let xds: string;
  let gatewayAdmin: string;
  let sleepAdmin: string;
  const isthmus = (args: string[], input?: string) => run(process.execPath, [CLI, '--server', server, ...args], input === undefined ? {} : { input });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-cp-services-'));
    upstream = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`lambda says hello to ${req.headers.host ?? ''}\n`);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamPort = (upstream.address() as { port: number }).port;

    const started = await startProcess(['controlplane', '--state-dir', join(dir, 'state'), '--xds-address', '127.0.0.1:0', '--management-address', '127.0.0.1:0', '-r', '1-17'],
      /xDS (127\.0\.0\.1:\d+), management (http:\/\/127\.0\.0\.1:\d+)/);
    cp = started.child;
    xds = started.match[1] as string;
    server = started.match[2] as string;
  }, 60_000);

  afterAll(async () => {
    await stop(sleep?.child);
    await stop(gateway?.child);
    await stop(cp);
    await new Promise((r) => upstream?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('apply takes a v1 Service (before any of its pods exist) and get services lists it', async () => {
    const namespaces = await isthmus(['apply', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: istio-egress\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: sleep\n');
    expect(namespaces.code).toBe(0);
    const applied = await isthmus(['apply', '-f', '-'], SERVICE);
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toBe('service/istio-egressgateway created\n');
    expect((await isthmus(['apply', '-f', '-'], SERVICE)).stdout).toBe('service/istio-egressgateway unchanged\n');
    const list = await isthmus(['get', 'services', '-n', 'istio-egress']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+TYPE\s+PORT\(S\)\s+SELECTOR\s+AGE\n/);
    expect(list.stdout).toMatch(/\nistio-egressgateway\s+ClusterIP\s+80\/TCP\s+app=istio-egressgateway\s+\S+\n/);
    const bad = await isthmus(['apply', '-f', '-'], SERVICE.replace('port: 80', 'port: 0'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('Service istio-egressgateway.istio-egress: spec.ports[0].port: port number 0 must be in the range 1..65535');

    // The seed's egress Gateway, DestinationRule (subset lambda) and VirtualService, and lambda.external as a local server.
    const seed = await isthmus(['apply', '-f', '-'], readFileSync(SEED_EGRESS, 'utf8'));
    expect(seed.code).toBe(0);
    const se = await isthmus(['apply', '-f', '-'], `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: se-lambda-local
  namespace: istio-egress
spec:
  hosts: [lambda.external]
  ports: [{ name: http, number: 80, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${upstreamPort} } }]
`);
    expect(se.stdout).toContain('serviceentry.networking.istio.io/se-lambda-local created');
  });

  it('proxies with --ip connect; the sidecar gets an EDS cluster whose endpoint is the gateway IP at the target port', async () => {
    gateway = await startProcess(['proxy', '--xds', xds, '--ip', GATEWAY_IP, '--proxy-type', 'router', '--namespace', 'istio-egress',
      '--label', 'app=istio-egressgateway', '--label', 'istio=egressgateway', '--label', 'istio.io/rev=1-17', '--port-map', '80:8080',
      '--admin-address-path', join(dir, 'gateway.admin'), '--drain-time-s', '1'], /connected to the control plane/);
    gatewayAdmin = await adminAddress(join(dir, 'gateway.admin'));
    sleep = await startProcess(['proxy', '--xds', xds, '--ip', SLEEP_IP, '--namespace', 'sleep', '--label', 'app=sleep', '--label', 'istio.io/rev=1-17',
      '--admin-address-path', join(dir, 'sleep.admin'), '--drain-time-s', '1'], /connected to the control plane/);
    sleepAdmin = await adminAddress(join(dir, 'sleep.admin'));

    // The default node id carries the IP (Istio's <type>~<ip>~<pod>.<ns>~<ns>.svc.cluster.local) and INSTANCE_IPS is sent.
    const info = JSON.parse(await text(`${sleepAdmin}/server_info`)) as { node: { id: string; metadata: Record<string, unknown> } };
    expect(info.node.id).toBe(`sidecar~${SLEEP_IP}~isthmus-proxy-${sleep.child.pid}.sleep~sleep.svc.cluster.local`);
    expect(info.node.metadata.INSTANCE_IPS).toBe(SLEEP_IP);

    const clusters = await eventually(() => text(`${sleepAdmin}/clusters`), (t) => t.includes(`${EDS_CLUSTER}::${GATEWAY_IP}:8080::`));
    expect(clusters).toContain(`${EDS_CLUSTER}::${GATEWAY_IP}:8080::`);
    // The seed's DestinationRule subset gets the same endpoint (the subset has no labels).
    expect(clusters).toContain(`outbound|80|lambda|istio-egressgateway.istio-egress.svc.cluster.local::${GATEWAY_IP}:8080::`);

    const endpoints = await isthmus(['proxy-config', 'endpoints', `isthmus-proxy-${sleep.child.pid}.sleep`]);
    expect(endpoints.code).toBe(0);
    expect(endpoints.stdout).toMatch(new RegExp(`${GATEWAY_IP.replace(/\./g, '\\.')}:8080\\s+HEALTHY\\s+OK\\s+${EDS_CLUSTER.replace(/\|/g, '\\|')}`));
    const dump = await text(`${sleepAdmin}/config_dump`);
    expect(dump).toContain(`"name": "${EDS_CLUSTER}"`);
  });

  it("the gateway's 0.0.0.0_8080 listener is bound on its --ip and serves; the sidecar's port 80 on its own", async () => {
    const listeners = await eventually(() => text(`${gatewayAdmin}/listeners`), (t) => t.includes('0.0.0.0_8080::'));
    expect(listeners).toContain(`0.0.0.0_8080::${GATEWAY_IP}:8080`);
    expect(await accepts(GATEWAY_IP, 8080)).toBe(true);
    expect(await accepts(SLEEP_IP, 8080)).toBe(false);

    const direct = await run('curl', ['-s', '--max-time', '5', '-H', 'host: lambda.external', `http://${GATEWAY_IP}:8080/`]);
    expect(direct.stdout).toBe('lambda says hello to lambda.external\n');
    // The seed's path: sidecar -> egress gateway (the Service's endpoint, HTTP/2) -> lambda.external.
    const sleepListeners = await eventually(() => text(`${sleepAdmin}/listeners`), (t) => t.includes(`::${SLEEP_IP}:80\n`));
    expect(sleepListeners).toContain(`0.0.0.0_80::${SLEEP_IP}:80`);
    const viaSidecar = await eventually(() => run('curl', ['-s', '--max-time', '5', '-H', 'host: lambda.external', `http://${SLEEP_IP}:80/`]), (r) => r.stdout.startsWith('lambda says'));
    expect(viaSidecar.stdout).toBe('lambda says hello to lambda.external\n');
  });

  it('when the gateway goes away its endpoint is removed from every proxy; when it comes back it returns', async () => {
    await stop(gateway?.child, 'SIGKILL');
    const clusters = await eventually(() => text(`${sleepAdmin}/clusters`), (t) => !t.includes(`${GATEWAY_IP}:8080`));
    expect(clusters).not.toContain(`${GATEWAY_IP}:8080`);
    const endpoints = await isthmus(['proxy-config', 'endpoints', `isthmus-proxy-${sleep?.child.pid}.sleep`]);
    expect(endpoints.stdout).not.toContain(GATEWAY_IP);

    gateway = await startProcess(['proxy', '--xds', xds, '--ip', GATEWAY_IP, '--proxy-type', 'router', '--namespace', 'istio-egress',
      '--label', 'app=istio-egressgateway', '--label', 'istio=egressgateway', '--label', 'istio.io/rev=1-17', '--port-map', '80:8080', '--drain-time-s', '1'],
    /connected to the control plane/);
    const back = await eventually(() => text(`${sleepAdmin}/clusters`), (t) => t.includes(`${EDS_CLUSTER}::${GATEWAY_IP}:8080::`));
    expect(back).toContain(`${EDS_CLUSTER}::${GATEWAY_IP}:8080::`);
  });

  it('deleting the Service removes its clusters', async () => {
    expect((await isthmus(['delete', 'service', 'istio-egressgateway', '-n', 'istio-egress'])).code).toBe(0);
    const clusters = await eventually(() => text(`${sleepAdmin}/clusters`), (t) => !t.includes(`${EDS_CLUSTER}::`));
    expect(clusters).not.toContain(`${EDS_CLUSTER}::`);
  });
});

describe('proxy --ip with a bootstrap file, and bind_to_port: false', { timeout: 30_000 }, () => {
  const ip = `${NET}.9`;
  let dir: string;
  let proxy: ChildProcess | undefined;

  afterAll(async () => {
    await stop(proxy);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('wildcard listeners bind to the IP, explicit ones keep their address, bind_to_port: false opens no socket', async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-proxy-ip-'));
    const route = (body: string) => ({
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
        stat_prefix: 'http',
        route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: body } } }] }] },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
      },
    });
    const bootstrap = {
      admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
      static_resources: {
        listeners: [
          { name: 'wildcard', address: { socket_address: { address: '0.0.0.0', port_value: 8080 } }, filter_chains: [{ filters: [route('wildcard')] }] },
          { name: 'explicit', address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, filter_chains: [{ filters: [route('explicit')] }] },
          { name: 'virtual', address: { socket_address: { address: '0.0.0.0', port_value: 8081 } }, bind_to_port: false, filter_chains: [{ filters: [route('virtual')] }] },
        ],
      },
    };
    writeFileSync(join(dir, 'envoy.json'), JSON.stringify(bootstrap));
    const started = await startProcess(['proxy', '-c', join(dir, 'envoy.json'), '--ip', ip, '--admin-address-path', join(dir, 'admin'), '--drain-time-s', '0'], /proxy started/);
    proxy = started.child;
    const admin = await adminAddress(join(dir, 'admin'));
    const listeners = await text(`${admin}/listeners`);
    expect(listeners).toContain(`wildcard::${ip}:8080\n`);
    expect(listeners).toMatch(/explicit::127\.0\.0\.1:\d+\n/);
    expect(listeners).toContain(`virtual::${ip}:8081\n`);
    expect((await run('curl', ['-s', '--max-time', '5', `http://${ip}:8080/`])).stdout).toBe('wildcard');
    expect(await accepts(ip, 8081)).toBe(false);
    expect(await text(`${admin}/config_dump`)).toMatch(/"bind_to_port": false/);

    const bad = await run(process.execPath, [CLI, 'proxy', '-c', join(dir, 'envoy.json'), '--ip', 'pod-1']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--ip "pod-1" is not an IP address');
  });
});
