import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openssl } from '../helpers/index.js';
import { eventually, httpGet, proxyStatus, randomNet, startControlPlane, startIsthmus, stopChild, syncedRows } from './helpers/mesh.js';
import type { ControlPlaneProcess, Started } from './helpers/mesh.js';

/**
 * VERIFY_CERTIFICATE_AT_CLIENT with Isthmus' extra roots: a gateway originates TLS (DestinationRule SIMPLE,
 * no caCertificates) to an HTTPS server whose certificate comes from a private CA made with openssl. Against
 * the system bundle alone the handshake fails (503, UF); with `--extra-trusted-roots ca.pem` it verifies.
 * Two control planes (one of each) share the config dir; each feeds its own gateway.
 */

const NET = randomNet();
const HOST = 'secure.internal';

function config(port: number): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: { name: gw, namespace: ns }
spec:
  selector: { app: gw }
  servers:
  - hosts: ["*"]
    port: { name: http, number: 80, protocol: HTTP }
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: { name: vs, namespace: ns }
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - route:
    - destination: { host: ${HOST}, port: { number: 443 } }
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: secure, namespace: ns }
spec:
  hosts: [${HOST}]
  ports: [{ name: https, number: 443, protocol: HTTPS }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { https: ${port} } }]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: { name: secure, namespace: ns }
spec:
  host: ${HOST}
  trafficPolicy:
    tls: { mode: SIMPLE, sni: ${HOST} }
`;
}

async function ok(args: string[]): Promise<void> {
  const res = await openssl(args);
  if (res.code !== 0) throw new Error(`openssl ${args.join(' ')}: ${res.stderr}`);
}

describe('--extra-trusted-roots with --verify-certificate-at-client', { timeout: 120_000 }, () => {
  let dir: string;
  let https: Server;
  const processes: Started[] = [];
  let plain: ControlPlaneProcess;
  let extra: ControlPlaneProcess;

  const gateway = (cp: ControlPlaneProcess, ip: string) => startIsthmus(['proxy', '--xds', cp.xds, '--proxy-type', 'router', '--node-id', `router~${ip}~gw.ns~ns.svc.cluster.local`,
    '--ip', ip, '--namespace', 'ns', '--label', 'app=gw', '--port-map', '80:8080', '--drain-time-s', '0', '--admin-address-path', join(dir, `${ip}.admin`)], /connected to the control plane/).then((p) => {
    processes.push(p);
    return p;
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-extra-roots-'));
    const pki = join(dir, 'pki');
    mkdirSync(pki);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await ok(['req', '-x509', ...ec, '-keyout', join(pki, 'ca.key'), '-out', join(pki, 'ca.pem'), '-days', '2', '-subj', '/O=Private Org/CN=Private Root CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    await ok(['req', ...ec, '-keyout', join(pki, 'server.key'), '-out', join(pki, 'server.csr'), '-subj', `/CN=${HOST}`]);
    writeFileSync(join(pki, 'ext.cnf'), `subjectAltName=DNS:${HOST}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
    await ok(['x509', '-req', '-in', join(pki, 'server.csr'), '-CA', join(pki, 'ca.pem'), '-CAkey', join(pki, 'ca.key'), '-CAcreateserial', '-days', '1',
      '-extfile', join(pki, 'ext.cnf'), '-out', join(pki, 'server.pem')]);
    https = createServer({ key: readFileSync(join(pki, 'server.key')), cert: readFileSync(join(pki, 'server.pem')) }, (req, res) => res.end(`private hello ${req.url ?? ''}`));
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    const configDir = join(dir, 'config');
    mkdirSync(configDir);
    writeFileSync(join(configDir, 'mesh.yaml'), config((https.address() as { port: number }).port));

    [plain, extra] = await Promise.all([
      startControlPlane(['--state-dir', join(dir, 'plain'), '--config-dir', configDir, '--xds-address', '127.0.0.1:0', '--verify-certificate-at-client']),
      startControlPlane(['--state-dir', join(dir, 'extra'), '--config-dir', configDir, '--xds-address', '127.0.0.1:0', '--verify-certificate-at-client',
        '--extra-trusted-roots', join(pki, 'ca.pem')]),
    ]);
    await gateway(plain, `${NET}.2`);
    await gateway(extra, `${NET}.3`);
    for (const [cp, ip] of [[plain, `${NET}.2`], [extra, `${NET}.3`]] as const) {
      const rows = await eventually(() => proxyStatus(cp.server), (r) => syncedRows(r, `router~${ip}~gw.ns~ns.svc.cluster.local`).length === 1);
      expect(rows).toHaveLength(1);
    }
  }, 90_000);

  afterAll(async () => {
    for (const p of processes) await stopChild(p.child, 'SIGKILL');
    await stopChild(plain?.child);
    await stopChild(extra?.child);
    await new Promise((r) => https?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('without extra roots the private certificate does not verify: 503, UF, and the trace names the certificate error', async () => {
    const requestId = `extra-roots-${Date.now()}`;
    const res = await eventually(() => httpGet(`http://${NET}.2:8080/a`, { 'x-request-id': requestId }), (r) => r.status !== 0 && r.status !== 404);
    expect(res.status).toBe(503);
    expect(res.body).toMatch(/^upstream connect error or disconnect\/reset before headers\. reset reason: connection failure/);
    const admin = readFileSync(join(dir, `${NET}.2.admin`), 'utf8').trim();
    const trace = await (await fetch(`http://${admin}/isthmus/trace?request_id=${requestId}`)).json() as { entries: Array<{ responseFlags: string[]; error?: string; cluster?: string }> };
    const entry = trace.entries.find((e) => e.responseFlags.includes('UF'));
    expect(entry, JSON.stringify(trace)).toBeDefined();
    expect(entry?.cluster).toBe(`outbound|443||${HOST}`);
    expect(entry?.error).toMatch(/certificate/i);
  });

  it('with --extra-trusted-roots ca.pem it verifies and the request goes through', async () => {
    const res = await eventually(() => httpGet(`http://${NET}.3:8080/b`), (r) => r.status === 200);
    expect(res).toMatchObject({ status: 200, body: 'private hello /b' });
  });
});
