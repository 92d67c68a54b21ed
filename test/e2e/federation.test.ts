import { createServer as createHttpServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueBootstrapToken, loadCertificateAuthority } from '../../src/pki/index.js';
import { CLI, openssl, run, startBackground, tempDir } from '../helpers/index.js';
import type { Background } from '../helpers/index.js';
import { eventually, freePort, healthPortMap } from './helpers/processes.js';

const CLIENT_ID = 'spiffe://a.local/ns/x/sa/client';
const OTHER_ID = 'spiffe://a.local/ns/x/sa/other';
const ECHO_ID = 'spiffe://b.local/ns/apps/sa/echo';
const CP_READY = /xDS 127\.0\.0\.1:(\d+), management (http:\/\/127\.0\.0\.1:\d+), CA 127\.0\.0\.1:(\d+)/;

interface Answer { status: number; body: string; stderr: string }

/**
 * One request as a user would send it: openssl s_client with a certificate and key, verifying the
 * sidecar's chain against mesh B's root. status 0: no HTTP answer (the connection was refused).
 */
async function opensslGet(port: number, caFile: string, cert: { cert: string; key: string }, path: string): Promise<Answer> {
  // -cert sends only the leaf; -cert_chain adds the mesh intermediate the sidecar needs to build the chain.
  const res = await openssl(['s_client', '-connect', `127.0.0.1:${port}`, '-cert', cert.cert, '-cert_chain', cert.cert, '-key', cert.key, '-CAfile', caFile, '-verify_return_error', '-quiet', '-alpn', 'http/1.1'],
    { input: `GET ${path} HTTP/1.1\r\nHost: echo.apps.internal\r\nConnection: close\r\n\r\n` });
  const status = Number(/^HTTP\/1\.1 (\d{3})/m.exec(res.stdout)?.[1] ?? 0);
  const split = res.stdout.indexOf('\r\n\r\n');
  return { status, body: split < 0 ? '' : res.stdout.slice(split + 4), stderr: res.stderr };
}

/**
 * Policy across two meshes with federation: mesh A (trust domain a.local) and mesh B (b.local), each with
 * its own control plane and CA and no shared root. Mesh B trusts a.local's root for a.local identities only
 * (meshConfig.caCertificates), mesh A trusts b.local's (--federate). Mesh B's sidecar runs STRICT mTLS and an
 * ALLOW AuthorizationPolicy for a.local/ns/x/sa/client; mesh A's sidecar originates ISTIO_MUTUAL to it.
 */
describe('federation: policy across two meshes', { timeout: 180_000 }, () => {
  let work: { dir: string; cleanup: () => Promise<void> };
  const procs: Background[] = [];
  let app: HttpServer | undefined;
  let forged: HttpsServer | undefined;
  const seen: string[] = [];
  let serverB = '';
  let serverA = '';
  const ports = { inbound: 0, service: 0, app: 0, proxyA: 0, forged: 0, adminB: 0 };
  const files = { aRoot: '', bRoot: '', aMeshCa: '', bMeshCa: '' };
  const certs: Record<string, { cert: string; key: string }> = {};

  const isthmus = (server: string, args: string[], input?: string) => run(process.execPath, [CLI, '--server', server, ...args], input === undefined ? {} : { input });
  const apply = async (server: string, yaml: string) => {
    const res = await isthmus(server, ['apply', '-f', '-'], yaml);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
  };
  /** `isthmus ca issue` with a mesh's CA directory, as an operator hands out a certificate. */
  const issue = async (name: string, caDir: string, spiffeId: string) => {
    const out = join(work.dir, 'certs', name);
    const res = await run(process.execPath, [CLI, 'ca', 'issue', '--ca', caDir, '--spiffe', spiffeId, '--out', out]);
    expect(res.code, res.stderr).toBe(0);
    certs[name] = { cert: join(out, 'cert.pem'), key: join(out, 'key.pem') };
  };
  const get = (name: string, path = '/hello') => opensslGet(ports.inbound, files.bRoot, certs[name] as { cert: string; key: string }, path);
  /** Mesh B sidecar's count of peers refused after the handshake (SAN or SPIFFE validation). */
  const verifyFailures = async () => {
    const stats = await (await fetch(`http://127.0.0.1:${ports.adminB}/stats`)).text();
    return [...stats.matchAll(/ssl\.fail_verify_error: (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  };
  /** curl through mesh A's sidecar (its HTTP proxy listener), which originates ISTIO_MUTUAL into mesh B. */
  const viaMeshA = (host: string, path = '/from-a') => run('curl', ['-s', '--max-time', '5', '-o', '-', '-w', '\n%{http_code}', `http://${host}${path}`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', http_proxy: `http://127.0.0.1:${ports.proxyA}` },
  }).then((r) => ({ status: Number(r.stdout.slice(r.stdout.lastIndexOf('\n') + 1)), body: r.stdout.slice(0, r.stdout.lastIndexOf('\n')) }));

  beforeAll(async () => {
    work = await tempDir('federation');
    const dir = work.dir;
    app = createHttpServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.end(`mesh-b app ${req.url}`);
    });
    await new Promise<void>((r) => app?.listen(0, '127.0.0.1', r));
    ports.app = (app.address() as { port: number }).port;
    for (const key of ['inbound', 'service', 'proxyA', 'adminB'] as const) ports[key] = await freePort();

    // Mesh B first: mesh A's control plane is started with B's root (--federate).
    const cpB = await startBackground(process.execPath, [CLI, 'controlplane', '--state-dir', join(dir, 'b'), '--trust-domain', 'b.local', '--xds-address', '127.0.0.1:0',
      '--management-address', '127.0.0.1:0', '--ca-address', '127.0.0.1:0'], CP_READY);
    procs.push(cpB);
    serverB = cpB.ready[2] as string;
    files.bRoot = join(dir, 'b', 'ca', 'root', 'root-cert.pem');
    files.bMeshCa = join(dir, 'b', 'ca', 'mesh-ca');
    const cpA = await startBackground(process.execPath, [CLI, 'controlplane', '--state-dir', join(dir, 'a'), '--trust-domain', 'a.local', '--xds-address', '127.0.0.1:0',
      '--management-address', '127.0.0.1:0', '--ca-address', '127.0.0.1:0', '--federate', `b.local=${files.bRoot}`], CP_READY);
    procs.push(cpA);
    serverA = cpA.ready[2] as string;
    files.aRoot = join(dir, 'a', 'ca', 'root', 'root-cert.pem');
    files.aMeshCa = join(dir, 'a', 'ca', 'mesh-ca');

    await issue('client', files.aMeshCa, CLIENT_ID);
    await issue('other', files.aMeshCa, OTHER_ID);
    // Mesh B's own CA minting mesh A's allowed identity: a valid chain in the wrong trust domain.
    await issue('forgedByB', files.bMeshCa, CLIENT_ID);
    await issue('bOther', files.bMeshCa, 'spiffe://b.local/ns/apps/sa/other');
    // Mesh A's CA minting mesh B's echo identity, for a server that impersonates echo to mesh A's sidecar.
    await issue('forgedEcho', files.aMeshCa, ECHO_ID);
    forged = createHttpsServer({ cert: readFileSync(certs.forgedEcho?.cert ?? ''), key: readFileSync(certs.forgedEcho?.key ?? '') }, (req, res) => {
      seen.push(`forged ${req.url}`);
      res.end('forged');
    });
    await new Promise<void>((r) => forged?.listen(0, '127.0.0.1', r));
    ports.forged = (forged.address() as { port: number }).port;

    for (const ns of ['apps', 'istio-system']) expect((await isthmus(serverB, ['create', 'namespace', ns])).code).toBe(0);
    await apply(serverB, `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: echo, namespace: apps }
spec:
  hosts: [echo.apps.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - { name: http, number: ${ports.service}, protocol: HTTP, targetPort: ${ports.inbound} }
  workloadSelector:
    labels: { app: echo }
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec:
  mtls: { mode: STRICT }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-mesh-a-client, namespace: apps }
spec:
  selector: { matchLabels: { app: echo } }
  action: ALLOW
  rules:
  - from: [{ source: { principals: [a.local/ns/x/sa/client] } }]
`);
    const bCa = await loadCertificateAuthority(files.bMeshCa);
    procs.push(await startBackground(process.execPath, [CLI, 'proxy', '--xds', `127.0.0.1:${Number(cpB.ready[1])}`, '--proxy-type', 'sidecar', '--namespace', 'apps', '--label', 'app=echo',
      '--node-id', 'sidecar~127.0.0.1~echo-1.apps~apps.svc.cluster.local', '--port-map', `${ports.inbound}:${ports.app},${await healthPortMap()}`,
      '--ca-address', `127.0.0.1:${Number(cpB.ready[3])}`, '--ca-root', files.bRoot, '--spiffe', ECHO_ID, '--bootstrap-token', await issueBootstrapToken(bCa, ECHO_ID, 600_000),
      '--admin-port', String(ports.adminB), '--drain-time-s', '1'], /connected to the control plane/));

    // Mesh A: a client sidecar (identity a.local/ns/x/sa/client) that reaches echo over ISTIO_MUTUAL.
    for (const ns of ['x', 'istio-system']) expect((await isthmus(serverA, ['create', 'namespace', ns])).code).toBe(0);
    await apply(serverA, ['echo', 'forged'].map((name) => `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: ${name}, namespace: x }
spec:
  hosts: [${name}.mesh-b.remote]
  location: MESH_INTERNAL
  resolution: STATIC
  subjectAltNames: [${ECHO_ID}]
  ports:
  - { name: http, number: 80, protocol: HTTP }
  endpoints:
  - address: 127.0.0.1
    ports: { http: ${name === 'echo' ? ports.inbound : ports.forged} }
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: { name: ${name}, namespace: x }
spec:
  host: ${name}.mesh-b.remote
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }
`).join('---\n'));
    const aCa = await loadCertificateAuthority(files.aMeshCa);
    procs.push(await startBackground(process.execPath, [CLI, 'proxy', '--xds', `127.0.0.1:${Number(cpA.ready[1])}`, '--proxy-type', 'sidecar', '--namespace', 'x', '--label', 'app=client',
      '--node-id', 'sidecar~127.0.0.1~client-1.x~x.svc.cluster.local', '--port-map', await healthPortMap(), '--meta', `HTTP_PROXY_PORT=${ports.proxyA}`,
      '--ca-address', `127.0.0.1:${Number(cpA.ready[3])}`, '--ca-root', files.aRoot, '--spiffe', CLIENT_ID, '--bootstrap-token', await issueBootstrapToken(aCa, CLIENT_ID, 600_000),
      '--drain-time-s', '1'], /connected to the control plane/));
  }, 150_000);

  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
    app?.closeAllConnections();
    await new Promise((r) => app?.close(r));
    forged?.closeAllConnections();
    await new Promise((r) => forged?.close(r));
    await work?.cleanup();
  });

  it("without federation, mesh B refuses mesh A's identity: its root is not trusted", async () => {
    // The sidecar serves (its inbound chain is up) but the handshake with a.local's certificate fails.
    const own = await eventually(() => get('bOther', '/'), (a) => a.status === 403);
    expect(own.status).toBe(403); // mesh B's own CA, identity not allowed by the policy: RBAC answers
    const answer = await get('client');
    expect(answer.status).toBe(0);
    expect(seen).toEqual([]);
  });

  it("with meshConfig.caCertificates for a.local, mesh A's allowed identity gets through (200)", async () => {
    await apply(serverB, `apiVersion: isthmus.io/v1alpha1
kind: MeshConfig
metadata: { name: mesh }
spec:
  caCertificates:
  - pem: |
${readFileSync(files.aRoot, 'utf8').trimEnd().split('\n').map((l) => `      ${l}`).join('\n')}
    trustDomains: [a.local]
`);
    const answer = await eventually(() => get('client', '/hello'), (a) => a.status === 200);
    expect(answer).toMatchObject({ status: 200, body: 'mesh-b app /hello' });
    expect(seen).toContain('GET /hello');
  });

  it('another mesh-A identity is denied by the AuthorizationPolicy (403)', async () => {
    const before = seen.length;
    expect(await get('other', '/nope')).toMatchObject({ status: 403, body: 'RBAC: access denied' });
    expect(seen.length).toBe(before);
  });

  it("a certificate from mesh B's own CA that claims mesh A's allowed identity is refused (per-domain bundles, not a merged pool)", async () => {
    const before = seen.length;
    const refusedBefore = await verifyFailures();
    const answer = await get('forgedByB', '/forged');
    expect(answer.status).toBe(0);
    expect(seen.length).toBe(before);
    // The handshake completed (the chain is good for b.local's root); the SPIFFE validator refused it after.
    expect(await verifyFailures()).toBe(refusedBefore + 1);
  });

  it('plaintext is refused under STRICT', async () => {
    const res = await run('curl', ['-s', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${ports.inbound}/plain`]);
    expect(res.code).not.toBe(0);
    expect(res.stdout).toBe('000');
    expect(seen).not.toContain('GET /plain');
  });

  it("mesh A's sidecar originates ISTIO_MUTUAL to mesh B, verifying echo against b.local's bundle (--federate)", async () => {
    const answer = await eventually(() => viaMeshA('echo.mesh-b.remote'), (a) => a.status === 200);
    expect(answer).toEqual({ status: 200, body: 'mesh-b app /from-a' });
  });

  it("mesh A's sidecar refuses a server whose b.local identity was minted by mesh A's own CA (503)", async () => {
    const answer = await viaMeshA('forged.mesh-b.remote', '/x');
    expect(answer.status).toBe(503);
    expect(seen).not.toContain('forged /x');
  });
});
