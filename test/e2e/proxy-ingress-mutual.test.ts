import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy } from './helpers/proxy-process.js';
import type { RunningProxy } from './helpers/proxy-process.js';
import { PROJECT_ROOT, run } from '../helpers/index.js';
import { seedPki } from './helpers/pki.js';

const LAMBDA_PAGE = readFileSync(join(PROJECT_ROOT, 'examples', 'multicloud', 'lambda', 'hello-world.html'));

/**
 * Seed 000's ingress gateway role as a static Envoy config: MUTUAL TLS for lambda.external with the
 * certificates the seed makes with openssl, routed by Host to a cluster that originates TLS to the
 * private "ALB".
 */
describe('ingress gateway: MUTUAL TLS on lambda.external -> TLS origination to the ALB', () => {
  let dir: string;
  let alb: Server;
  let ingress: RunningProxy;
  let albSni: string | false | null = false;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-ingress-'));
    // The seed's openssl commands, as written.
    for (const [name, st] of [['server', 'Zamunda'], ['client', 'Wakanda']] as const) {
      const res = await run('openssl', ['req', '-x509', '-nodes', '-days', '365', '-newkey', 'rsa:2048',
        '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`), '-subj', `/C=NT/ST=${st}/O=Solo.io/OU=Solo.io/CN=*`]);
      expect(res.code).toBe(0);
    }
    const pki = await seedPki(dir);
    const albCert = await pki.issue(pki.meshCa, 'alb', 'spiffe://cluster.local/ns/aws/sa/alb', ['alb.jesus2.solo.io']);
    alb = createServer({ cert: readFileSync(albCert.cert), key: readFileSync(albCert.key) }, (req, res) => {
      albSni = (req.socket as TLSSocket).servername;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': LAMBDA_PAGE.length });
      res.end(LAMBDA_PAGE);
    });
    await new Promise<void>((r) => alb.listen(0, '127.0.0.1', r));
    const albPort = (alb.address() as { port: number }).port;
    ingress = await startProxy(dir, 'ingress', `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: https.443
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    listener_filters:
    - name: envoy.filters.listener.tls_inspector
    filter_chains:
    - filter_chain_match: { server_names: [lambda.external] }
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
            alpn_protocols: [h2, http/1.1]
            tls_certificates:
            - certificate_chain: { filename: ${join(dir, 'server.crt')} }
              private_key: { filename: ${join(dir, 'server.key')} }
            validation_context:
              trusted_ca: { filename: ${join(dir, 'client.crt')} }
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: outbound_0.0.0.0_443
          server_name: istio-envoy
          route_config:
            name: https.443.https.eastwestgateway.istio-ingress
            virtual_hosts:
            - name: lambda.external:443
              domains: [lambda.external, "lambda.external:*"]
              routes:
              - match: { prefix: / }
                route: { cluster: "outbound|443||alb.jesus2.solo.io", timeout: 0s }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: "outbound|443||alb.jesus2.solo.io"
    type: STATIC
    connect_timeout: 2s
    load_assignment:
      cluster_name: "outbound|443||alb.jesus2.solo.io"
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${albPort} } } }
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        sni: alb.jesus2.solo.io
`);
  }, 60_000);

  afterAll(async () => {
    await ingress?.stop();
    await new Promise((r) => alb?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("the seed's curl with --cert --key --cacert --resolve gets the Lambda page over HTTP/2", async () => {
    const port = ingress.listenerPort('https.443');
    const res = await run('curl', ['--cert', join(dir, 'client.crt'), '--key', join(dir, 'client.key'), '--cacert', join(dir, 'server.crt'),
      `https://lambda.external:${port}/get`, '--resolve', `lambda.external:${port}:127.0.0.1`, '-isk']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^HTTP\/2 200/);
    expect(res.stdout).toMatch(/server: istio-envoy/);
    expect(res.stdout).toMatch(/content-type: text\/html; charset=utf-8/);
    expect(res.stdout).toMatch(/content-length: 258/);
    expect(res.stdout).toMatch(/x-envoy-upstream-service-time: \d+/);
    expect(res.stdout.endsWith(LAMBDA_PAGE.toString())).toBe(true);
    expect(albSni).toBe('alb.jesus2.solo.io');
  });

  it('without a client certificate the handshake fails', async () => {
    const port = ingress.listenerPort('https.443');
    const res = await run('curl', ['--cacert', join(dir, 'server.crt'), `https://lambda.external:${port}/get`, '--resolve', `lambda.external:${port}:127.0.0.1`, '-isk']);
    expect(res.code).not.toBe(0);
    expect(res.stdout).toBe('');
    const stats = await (await fetch(`${ingress.adminUrl}/stats`)).text();
    expect(stats).toMatch(/ssl\.connection_error: [1-9]/);
  });

  it('a client certificate the gateway does not trust is refused too', async () => {
    const port = ingress.listenerPort('https.443');
    const res = await run('curl', ['--cert', join(dir, 'server.crt'), '--key', join(dir, 'server.key'), `https://lambda.external:${port}/get`, '--resolve', `lambda.external:${port}:127.0.0.1`, '-isk']);
    expect(res.code).not.toBe(0);
  });

  it('HTTP/1.1 works on the same listener and the counters move', async () => {
    const port = ingress.listenerPort('https.443');
    const res = await run('curl', ['--http1.1', '--cert', join(dir, 'client.crt'), '--key', join(dir, 'client.key'), `https://lambda.external:${port}/hello-world`, '--resolve', `lambda.external:${port}:127.0.0.1`, '-isk']);
    expect(res.stdout).toMatch(/^HTTP\/1\.1 200/);
    const prom = await (await fetch(`${ingress.adminUrl}/stats/prometheus`)).text();
    expect(prom).toMatch(/# TYPE envoy_cluster_upstream_rq_total counter/);
    expect(prom).toMatch(/envoy_cluster_upstream_rq_total\{envoy_cluster_name="outbound\|443\|\|alb\.jesus2\.solo\.io"\} [2-9]/);
  });
});
