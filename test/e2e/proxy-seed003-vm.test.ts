import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy } from './helpers/proxy-process.js';
import type { RunningProxy } from './helpers/proxy-process.js';
import { run } from '../helpers/index.js';
import { seedPki } from './helpers/pki.js';

const FRONTEND_SNI = 'outbound_.80_._.frontend.simple-app.svc.cluster.local';

/**
 * Seed 003: the VM's static Envoy config, as written (addresses and certificate paths changed), in front
 * of an east-west gateway that passes TLS through by SNI to a frontend that requires mutual TLS.
 */
describe('seed 003: VM proxy -> east-west gateway (SNI passthrough) -> frontend', () => {
  let dir: string;
  let frontend: Server;
  let frontendPort: number;
  let eastWest: RunningProxy;
  let vm: RunningProxy;
  const seen: Array<{ sni: string | false | null; peer: string | undefined; alpn: string | false | null; path: string }> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-seed003-'));
    const pki = await seedPki(dir);
    const fe = await pki.issue(pki.meshCa, 'frontend', 'spiffe://cluster.local/ns/simple-app/sa/frontend', ['frontend.simple-app.svc.cluster.local']);
    const vmCerts = await pki.issue(pki.vmCa, 'certs', 'spiffe://vm.local/vm/vm-1');
    frontend = createServer({
      cert: readFileSync(fe.cert), key: readFileSync(fe.key), ca: readFileSync(fe.bundle),
      requestCert: true, rejectUnauthorized: true,
      ALPNProtocols: ['istio-peer-exchange', 'istio', 'http/1.1'],
    }, (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate().subjectaltname?.replace(/^URI:/, '');
      seen.push({ sni: socket.servername, peer, alpn: socket.alpnProtocol, path: req.url ?? '' });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ service: 'frontend', path: req.url, peer }));
    });
    await new Promise<void>((r) => frontend.listen(0, '127.0.0.1', r));
    frontendPort = (frontend.address() as { port: number }).port;

    eastWest = await startProxy(dir, 'eastwest', `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: tls-passthrough
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    listener_filters:
    - name: envoy.filters.listener.tls_inspector
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector
    filter_chains:
    - filter_chain_match:
        server_names: ["${FRONTEND_SNI}"]
      filters:
      - name: envoy.filters.network.sni_cluster
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: ${FRONTEND_SNI}
          cluster: ${FRONTEND_SNI}
  clusters:
  - name: ${FRONTEND_SNI}
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: ${FRONTEND_SNI}
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${frontendPort} } } }
`);
    const ewPort = eastWest.listenerPort('tls-passthrough');
    // The seed's listener and cluster blocks, merged into one file; only addresses and paths changed.
    vm = await startProxy(dir, 'vm', `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - address:
      socket_address:
        address: 127.0.0.1
        port_value: 0
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          '@type': type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: vm
          access_log:
          - name: envoy.access_loggers.stdout
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
          route_config:
            name: local_route
            virtual_hosts:
            - name: routes
              domains:
              - "*"
              routes:
                # Route /frontend http requests to frontend cluster
              - match:
                  prefix: "/frontend"
                route:
                  cluster: frontend
          http_filters:
          - name: envoy.filters.http.router
  clusters:
  - name: frontend
    type: STRICT_DNS
    load_assignment:
      cluster_name: frontend
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address:
                # eastwestgateway LB endpoint (can be hostname or IP)
                address: 127.0.0.1
                port_value: ${ewPort}
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        # sni must match the output from the eastwest gateway listeners
        sni: ${FRONTEND_SNI}
        common_tls_context:
          alpnProtocols:
          - istio-peer-exchange
          - istio
          tls_certificates:
          - certificate_chain:
              filename: ${vmCerts.cert}
            private_key:
              filename: ${vmCerts.key}
          validation_context:
            trusted_ca:
              filename: ${vmCerts.bundle}
`);
  }, 60_000);

  afterAll(async () => {
    await vm?.stop();
    await eastWest?.stop();
    await new Promise((r) => frontend?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('curl VM:port/frontend reaches the frontend over mTLS, with the SNI and the VM identity', async () => {
    const port = vm.listenerPort(0);
    const res = await run('curl', ['-s', '-i', `http://127.0.0.1:${port}/frontend/hello`]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(res.stdout).toMatch(/x-envoy-upstream-service-time: \d+/i);
    expect(res.stdout).toMatch(/server: envoy/i);
    const body = JSON.parse(res.stdout.slice(res.stdout.indexOf('\r\n\r\n') + 4)) as { service: string; peer: string; path: string };
    expect(body).toEqual({ service: 'frontend', path: '/frontend/hello', peer: 'spiffe://vm.local/vm/vm-1' });
    const last = seen[seen.length - 1];
    expect(last?.sni).toBe(FRONTEND_SNI);
    expect(last?.alpn).toBe('istio-peer-exchange');
  });

  it('a path the VM config does not route gets 404 and never reaches the mesh', async () => {
    const before = seen.length;
    const res = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${vm.listenerPort(0)}/other`]);
    expect(res.stdout).toBe('404');
    expect(seen.length).toBe(before);
  });

  it('the gateway passes TLS through: a client without the right certificate is refused by the frontend, not the gateway', async () => {
    const ewPort = eastWest.listenerPort('tls-passthrough');
    const res = await run('curl', ['-s', '-k', '--resolve', `${FRONTEND_SNI}:${ewPort}:127.0.0.1`, `https://${FRONTEND_SNI}:${ewPort}/frontend`]);
    expect(res.code).not.toBe(0);
    const unknownSni = await run('curl', ['-s', '-k', '--resolve', `unknown.example:${ewPort}:127.0.0.1`, `https://unknown.example:${ewPort}/`]);
    expect(unknownSni.code).not.toBe(0);
  });

  it('access log, counters and config_dump show the traffic and the loaded config', async () => {
    await run('curl', ['-s', `http://127.0.0.1:${vm.listenerPort(0)}/frontend/again`]);
    const prom = await (await fetch(`${vm.adminUrl}/stats/prometheus`)).text();
    const rq = /envoy_cluster_upstream_rq_total\{envoy_cluster_name="frontend"\} (\d+)/.exec(prom);
    expect(Number(rq?.[1])).toBeGreaterThanOrEqual(2);
    const stats = await (await fetch(`${vm.adminUrl}/stats`)).text();
    expect(stats).toMatch(/http\.vm\.downstream_rq_2xx: [1-9]/);
    expect(stats).toMatch(/http\.vm\.downstream_rq_4xx: [1-9]/);
    const ewStats = await (await fetch(`${eastWest.adminUrl}/stats`)).text();
    expect(ewStats).toMatch(new RegExp(`tcp\\.${FRONTEND_SNI.replace(/\./g, '\\.')}\\.downstream_cx_total: [1-9]`));
    const dump = JSON.stringify(await (await fetch(`${vm.adminUrl}/config_dump`)).json());
    expect(dump).toContain(FRONTEND_SNI);
    expect(dump).toContain('type.googleapis.com/envoy.admin.v3.ClustersConfigDump');
    // Access logs are written in batches, at the latest one second after the request.
    const line = /"GET \/frontend\/hello HTTP\/1\.1" 200 - 0 \d+ \d+ \d+ /;
    for (let i = 0; i < 50 && !line.test(vm.output()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(vm.output()).toMatch(line);
  });
});
