/**
 * Seed 000, "Sharing resources between AWS and GCP using Istio", on one machine.
 *
 * Two independent meshes, each with its own control plane, CA and trust domain (no shared root):
 *   eks (127.0.20.0/24): a private "Lambda" behind a TLS ALB only this network uses, an ingress gateway;
 *   gke (127.0.10.0/24): an egress gateway and the sleep app with its sidecar.
 * Every simulated pod has its own loopback address, so gateways listen on Istio's container ports
 * (8080, 8443) side by side. The seed's resources are applied as written; only addresses and ports are
 * filled in, as the seed's shell variables do.
 *
 * The sleep app reaches its sidecar as an HTTP proxy (Istio's HTTP_PROXY_PORT): `http_proxy=... curl
 * lambda.external/hello-world`. The seed relies on DNS capture plus iptables, which need root and
 * change the whole machine; an HTTP proxy is per process and unprivileged, and the app is not changed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:https';
import { EXAMPLES, check, eventually } from '../lib/scenario.js';
import type { Scenario } from '../lib/scenario.js';
import { freePort, listenHttps, renderManifest } from '../lib/network.js';

const DIR = join(EXAMPLES, 'multicloud');
const manifest = (name: string) => join(DIR, 'manifests', name);
export const LAMBDA_PAGE = readFileSync(join(DIR, 'lambda', 'hello-world.html'), 'utf8');

export const MULTICLOUD_STEPS = 10;

/** Addresses of the two networks. Control planes use Istio's ports on their own address. */
export const EKS = { controlPlane: '127.0.20.1', ingress: '127.0.20.2', alb: '127.0.20.100', albPort: 8443 } as const;
export const GKE = { controlPlane: '127.0.10.1', egress: '127.0.10.2', sleep: '127.0.10.3' } as const;

const INGRESS_POD = 'istio-ingressgateway-57dc66d6ff-d2r75';
const EGRESS_POD = 'istio-egressgateway-7c5f5dcfbb-vz5zh';
const SLEEP_POD = 'sleep-87549b8d9-622db';

export interface MulticloudResult {
  /** Commands a user can try while the example keeps running. */
  readonly tryCommands: readonly string[];
}

export async function runMulticloud(s: Scenario): Promise<MulticloudResult> {
  const dir = s.workDir;
  const controlPlane = async (name: string, address: string, extra: string[]) => {
    await s.startIsthmus(`${name}-istiod`, [
      'controlplane', '--state-dir', join(dir, name, 'state'), '--trust-domain', `${name}.local`, '-r', '1-17',
      '--name', name === 'eks' ? 'istiod-1-17-6f5f489dd6-l6krg' : 'istiod-1-17-6f5f489dd6-vh9zs',
      '--xds-address', `${address}:15010`, '--management-address', `${address}:15014`, ...extra,
    ], /ready: xDS/);
    await s.isthmus(['config', 'set-context', name, '--server', `http://${address}:15014`]);
  };
  const gateway = (name: string, pod: string, ns: string, ip: string, xds: string, labels: Record<string, string>) =>
    s.startIsthmus(name, [
      'proxy', '--xds', `${xds}:15010`, '--ip', ip, '--proxy-type', 'router', '--node-id', `router~${ip}~${pod}.${ns}~${ns}.svc.cluster.local`,
      '--namespace', ns, ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), '--port-map', '80:8080,443:8443',
    ], /connected to the control plane/);

  let alb: Server | undefined;
  s.onCleanup(() => new Promise<void>((resolve) => (alb ? alb.close(() => resolve()) : resolve())));

  await s.step('create the Lambda function behind a private ALB (TLS, on mesh eks\' network only)', async () => {
    const key = join(dir, 'alb.key');
    const cert = join(dir, 'alb.crt');
    const made = await s.run('openssl', ['req', '-x509', '-nodes', '-days', '30', '-newkey', 'rsa:2048', '-keyout', key, '-out', cert, '-subj', '/CN=alb.jesus2.solo.io', '-addext', 'subjectAltName=DNS:alb.jesus2.solo.io']);
    check(made.code === 0, `openssl failed: ${made.stderr}`);
    alb = await listenHttps(EKS.alb, EKS.albPort, { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(LAMBDA_PAGE) });
      res.end(LAMBDA_PAGE);
    });
    s.show(`ALB https://alb.jesus2.solo.io -> ${EKS.alb}:${EKS.albPort}`);
  });

  await s.step('deploy mesh eks: control plane (revision 1-17) and an ingress gateway in istio-ingress', async () => {
    await controlPlane('eks', EKS.controlPlane, []);
    await s.isthmus(['--context', 'eks', 'create', 'namespace', 'istio-ingress']);
    await s.isthmus(['--context', 'eks', 'apply', '-f', manifest('install-eks-ingressgateway-service.yaml')]);
    await gateway('eks-ingressgateway', INGRESS_POD, 'istio-ingress', EKS.ingress, EKS.controlPlane, { app: 'istio-ingressgateway', istio: 'ingressgateway', 'istio.io/rev': '1-17' });
    const status = await eventually(() => s.isthmus(['--context', 'eks', 'proxy-status']), (r) => /SYNCED/.test(r.stdout));
    s.show(`$ isthmus --context eks proxy-status\n${status.stdout}`);
  });

  const sleepProxyPort = await freePort();
  await s.step('deploy mesh gke: control plane, egress gateway in istio-egress, the sleep app with its sidecar', async () => {
    // The seed's pilot settings: PILOT_FILTER_GATEWAY_CLUSTER_CONFIG and VERIFY_CERTIFICATE_AT_CLIENT.
    await controlPlane('gke', GKE.controlPlane, ['--filter-gateway-cluster-config', '--verify-certificate-at-client']);
    await s.isthmus(['--context', 'gke', 'apply', '-f', manifest('000-3-mesh-a-service-istiod.yaml')]);
    await s.isthmus(['--context', 'gke', 'create', 'namespace', 'istio-egress']);
    await s.isthmus(['--context', 'gke', 'apply', '-f', manifest('install-gke-egressgateway-service.yaml')]);
    await gateway('gke-egressgateway', EGRESS_POD, 'istio-egress', GKE.egress, GKE.controlPlane, { app: 'istio-egressgateway', istio: 'egressgateway', 'istio.io/rev': '1-17' });
    await s.isthmus(['--context', 'gke', 'apply', '-f', manifest('000-5-mesh-a-sleep.yaml')]);
    await s.startIsthmus('gke-sleep-sidecar', [
      'proxy', '--xds', `${GKE.controlPlane}:15010`, '--ip', GKE.sleep, '--node-id', `sidecar~${GKE.sleep}~${SLEEP_POD}.sleep~sleep.svc.cluster.local`,
      '--namespace', 'sleep', '--label', 'app=sleep', '--label', 'version=v1', '--label', 'istio.io/rev=1-17', '--meta', `HTTP_PROXY_PORT=${sleepProxyPort}`,
    ], /connected to the control plane/);
    const status = await eventually(() => s.isthmus(['--context', 'gke', 'proxy-status']), (r) => (r.stdout.match(/SYNCED/g) ?? []).length >= 4);
    s.show(`$ isthmus --context gke proxy-status\n${status.stdout}`);
  });

  await s.step('mesh eks: register the ALB and expose it on the ingress gateway with mTLS (the seed\'s resources)', async () => {
    await s.isthmus(['--context', 'eks', 'apply', '-f', '-'], { input: renderManifest(manifest('000-6-mesh-b-serviceentry-destinationrule-alb.yaml'), { ALB_ADDRESS: EKS.alb, ALB_PORT: EKS.albPort }) });
    await s.isthmus(['--context', 'eks', 'apply', '-f', manifest('000-7-mesh-b-gateway-virtualservice-lambda.yaml')]);
    const routes = await eventually(() => s.isthmus(['--context', 'eks', 'proxy-config', 'routes', 'deploy/istio-ingressgateway', '-n', 'istio-ingress'], { allowFailure: true }),
      (r) => /vs-lambda\.istio-ingress/.test(r.stdout));
    s.show(`$ isthmus --context eks proxy-config routes deploy/istio-ingressgateway -n istio-ingress\n${routes.stdout}`);
    check(/https\.443\.https\.eastwestgateway\.istio-ingress\s+lambda\.external\s+\/\*\s+vs-lambda\.istio-ingress/.test(routes.stdout), 'the ingress gateway has no route for lambda.external');
  });

  await s.step('create the mTLS certificates with the seed\'s openssl commands and store them as secrets on both sides', async () => {
    for (const [name, st] of [['server', 'Zamunda'], ['client', 'Wakanda']] as const) {
      const made = await s.run('openssl', ['req', '-x509', '-nodes', '-days', '365', '-newkey', 'rsa:2048', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`), '-subj', `/C=NT/ST=${st}/O=Solo.io/OU=Solo.io/CN=*`]);
      check(made.code === 0, `openssl failed: ${made.stderr}`);
    }
    const secret = (ctx: string, ns: string, key: string, cert: string, cacert: string) => s.isthmus(['--context', ctx, 'create', '-n', ns, 'secret', 'generic', 'mtls-credential',
      `--from-file=key=${join(dir, key)}`, `--from-file=cert=${join(dir, cert)}`, `--from-file=cacert=${join(dir, cacert)}`]);
    s.show((await secret('gke', 'istio-egress', 'client.key', 'client.crt', 'server.crt')).stdout);
    s.show((await secret('eks', 'istio-ingress', 'server.key', 'server.crt', 'client.crt')).stdout);
  });

  const curlIngress = (withCertificates: boolean) => s.run('curl', [
    ...(withCertificates ? ['--cert', join(dir, 'client.crt'), '--key', join(dir, 'client.key')] : []), '--cacert', join(dir, 'server.crt'),
    'https://lambda.external:8443/get', '--resolve', `lambda.external:8443:${EKS.ingress}`, '-isk', '--max-time', '5',
  ]);
  await s.step('the seed\'s curl to the ingress gateway with the client certificate gets the Lambda page; without it, refused', async () => {
    const res = await eventually(() => curlIngress(true), (r) => r.stdout.startsWith('HTTP/2 200'));
    s.show(`$ curl --cert client.crt --key client.key --cacert server.crt https://lambda.external:8443/get --resolve lambda.external:8443:${EKS.ingress} -isk\n${res.stdout.split('\r\n\r\n')[0] ?? ''}`);
    check(res.stdout.startsWith('HTTP/2 200'), `expected HTTP/2 200, got: ${res.stdout.slice(0, 200) || res.stderr}`);
    check(res.stdout.endsWith(LAMBDA_PAGE), 'the body is not the Lambda page');
    const refused = await curlIngress(false);
    check(refused.code !== 0 && !refused.stdout.startsWith('HTTP/'), 'a client without a certificate was let in');
    s.show(`without --cert/--key: curl exit ${refused.code} (${refused.stderr.trim().split('\n').pop() ?? ''})`);
  });

  await s.step('mesh gke: the ingress gateway as an external service, the egress gateway and the routing (the seed\'s resources)', async () => {
    await s.isthmus(['--context', 'gke', 'apply', '-f', '-'], { input: renderManifest(manifest('000-8-mesh-a-serviceentry-destinationrule-lambda.yaml'), { HOST_GW_CLUSTER2: EKS.ingress, PORT_GW_CLUSTER2: 8443 }) });
    await s.isthmus(['--context', 'gke', 'apply', '-f', manifest('000-9-mesh-a-egress-gateway-virtualservice.yaml')]);
    const routes = await eventually(() => s.isthmus(['--context', 'gke', 'proxy-config', 'routes', 'deploy/istio-egressgateway', '-n', 'istio-egress'], { allowFailure: true }),
      (r) => /direct-lambda-through-egress-gateway\.istio-egress/.test(r.stdout));
    s.show(`$ isthmus --context gke proxy-config routes deploy/istio-egressgateway -n istio-egress\n${routes.stdout}`);
    check(/http\.8080\s+lambda\.external\s+\/\*\s+direct-lambda-through-egress-gateway\.istio-egress/.test(routes.stdout), 'the egress gateway has no route http.8080 for lambda.external');
  });

  const sleepCurl = () => s.run('curl', ['lambda.external/hello-world', '-is', '--max-time', '5'], { env: { http_proxy: `http://127.0.0.1:${sleepProxyPort}` } });
  await s.step('from the sleep app: plain `curl lambda.external/hello-world` -> sidecar -> egress gateway -> mTLS -> ingress gateway -> ALB', async () => {
    const res = await eventually(sleepCurl, (r) => r.stdout.startsWith('HTTP/1.1 200'));
    s.show(`$ http_proxy=http://127.0.0.1:${sleepProxyPort} curl lambda.external/hello-world -is\n${res.stdout.split('\r\n\r\n')[0] ?? ''}\n\n${LAMBDA_PAGE.split('\n').slice(0, 3).join('\n')}\n...`);
    check(res.stdout.startsWith('HTTP/1.1 200'), `expected HTTP/1.1 200, got: ${res.stdout.slice(0, 300) || res.stderr}`);
    check(res.stdout.endsWith(LAMBDA_PAGE), 'the body is not the Lambda page');
  });

  await s.step('every proxy on both sides is in sync', async () => {
    for (const ctx of ['eks', 'gke']) {
      const status = await s.isthmus(['--context', ctx, 'proxy-status']);
      s.show(`$ isthmus --context ${ctx} proxy-status\n${status.stdout}`);
      check(!/NACKED|STALE/.test(status.stdout), `a proxy of mesh ${ctx} is not in sync`);
    }
  });

  await s.step('trace the request across both meshes', async () => {
    const trace = await s.isthmus(['trace', 'http://lambda.external/hello-world', '--from', 'gke/sleep'], { allowFailure: true });
    s.show(`$ isthmus trace http://lambda.external/hello-world --from gke/sleep\n${trace.stdout || trace.stderr}`);
    check(trace.code === 0, 'the trace did not succeed');
  });

  return {
    tryCommands: [
      `export ISTHMUS_CONTEXTS=${s.env['ISTHMUS_CONTEXTS']}`,
      'isthmus --context gke proxy-status',
      'isthmus --context eks proxy-config routes deploy/istio-ingressgateway -n istio-ingress',
      `http_proxy=http://127.0.0.1:${sleepProxyPort} curl -is lambda.external/hello-world`,
      'isthmus trace http://lambda.external/hello-world --from gke/sleep',
    ],
  };
}
