import { createServer as createHttpServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { Server as NetServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueBootstrapToken, writePluginCa, writeRootCa } from '../../src/pki/index.js';
import { CLI, run, startBackground, tempDir } from '../helpers/index.js';
import type { Background } from '../helpers/index.js';
import { seedPki } from './helpers/pki.js';
import type { Workload } from './helpers/pki.js';
import { eventually, freePort, healthPortMap } from './helpers/processes.js';

const APP_ID = 'spiffe://cluster.local/ns/apps/sa/echo';
const ALLOWED_ID = 'spiffe://cluster.local/ns/a/sa/allowed';
const OTHER_ID = 'spiffe://cluster.local/ns/a/sa/other';

interface Answer { status?: number; body?: string; error?: string }

/** One mTLS request to the sidecar's inbound listener with a client certificate, checking the sidecar's SPIFFE id. */
function mtlsGet(port: number, rootPem: string, client: Workload, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve) => {
    const req = httpsRequest({
      host: '127.0.0.1', port, path, method, headers: { host: 'echo.apps.internal' }, ca: rootPem,
      cert: readFileSync(client.cert), key: readFileSync(client.key), agent: false, timeout: 5_000,
      checkServerIdentity: (_host, cert) => (cert.subjectaltname?.includes(`URI:${APP_ID}`) ? undefined : new Error(`unexpected server identity ${cert.subjectaltname}`)),
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end();
  });
}

/** mTLS to the TCP inbound port: what the echo app sends back before the connection ends ('' when refused). */
function tcpEcho(port: number, rootPem: string, client: Workload): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: rootPem, cert: readFileSync(client.cert), key: readFileSync(client.key), ALPNProtocols: ['istio'], checkServerIdentity: () => undefined }, () => socket.write('ping\n'));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) socket.end();
    });
    socket.on('close', () => resolve(out));
    socket.on('error', () => resolve(out));
    setTimeout(() => socket.destroy(), 5_000).unref();
  });
}

/**
 * AuthorizationPolicy end to end: a control plane with its CA, a sidecar (STRICT mTLS inbound, workload
 * certificate from the CA) in front of an HTTP app and a TCP app, and two clients with certificates from the
 * same CA. Policies are applied through the control plane and enforced by the sidecar's RBAC filters.
 */
describe('AuthorizationPolicy enforced by the sidecar', { timeout: 120_000 }, () => {
  let work: { dir: string; cleanup: () => Promise<void> };
  let cp: Background | undefined;
  let sidecar: Background | undefined;
  let server = '';
  let rootPem = '';
  let allowed: Workload;
  let other: Workload;
  let app: HttpServer | undefined;
  let tcpApp: NetServer | undefined;
  const seen: string[] = [];
  const ports = { httpInbound: 0, tcpInbound: 0, httpService: 0, tcpService: 0, httpApp: 0, tcpApp: 0, admin: 0 };

  const isthmus = (args: string[], input?: string) => run('node', [CLI, '--server', server, ...args], input === undefined ? {} : { input });
  const apply = async (yaml: string) => {
    const res = await isthmus(['apply', '-f', '-'], yaml);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
  };
  const get = (client: Workload, path: string, method = 'GET') => mtlsGet(ports.httpInbound, rootPem, client, path, method);
  /** Waits until the sidecar enforces the new config: `probe` gives the expected status. */
  const until = async (client: Workload, path: string, status: number) => {
    const res = await eventually(() => get(client, path), (r) => r.status === status);
    if (res.status !== status) console.log(res, sidecar?.output());
    expect(res.status).toBe(status);
  };

  beforeAll(async () => {
    work = await tempDir('authorization-policy');
    const dir = work.dir;
    const pki = await seedPki(dir);
    await writeRootCa(join(dir, 'state', 'ca', 'root'), pki.root);
    await writePluginCa(join(dir, 'state', 'ca', 'mesh-ca'), pki.meshCa);
    rootPem = readFileSync(join(dir, 'state', 'ca', 'root', 'root-cert.pem'), 'utf8');
    allowed = await pki.issue(pki.meshCa, 'allowed', ALLOWED_ID);
    other = await pki.issue(pki.meshCa, 'other', OTHER_ID);

    app = createHttpServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.end(`app ${req.method} ${req.url}`);
    });
    await new Promise<void>((r) => app?.listen(0, '127.0.0.1', r));
    ports.httpApp = (app.address() as { port: number }).port;
    tcpApp = createNetServer((s) => s.pipe(s));
    await new Promise<void>((r) => tcpApp?.listen(0, '127.0.0.1', r));
    ports.tcpApp = (tcpApp.address() as { port: number }).port;
    for (const key of ['httpInbound', 'tcpInbound', 'httpService', 'tcpService', 'admin'] as const) ports[key] = await freePort();

    cp = await startBackground(process.execPath, [CLI, 'controlplane', '--state-dir', join(dir, 'state'), '--xds-address', '127.0.0.1:0', '--management-address', '127.0.0.1:0',
      '--ca-address', '127.0.0.1:0'], /xDS 127\.0\.0\.1:(\d+), management (http:\/\/127\.0\.0\.1:\d+), CA 127\.0\.0\.1:(\d+)/);
    server = cp.ready[2] as string;
    for (const ns of ['apps', 'istio-system']) expect((await isthmus(['create', 'namespace', ns])).code).toBe(0);
    await apply(`apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: echo, namespace: apps }
spec:
  hosts: [echo.apps.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - { name: http, number: ${ports.httpService}, protocol: HTTP, targetPort: ${ports.httpInbound} }
  - { name: tcp, number: ${ports.tcpService}, protocol: TCP, targetPort: ${ports.tcpInbound} }
  workloadSelector:
    labels: { app: echo }
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec:
  mtls: { mode: STRICT }
`);
    const token = await issueBootstrapToken(pki.meshCa, APP_ID, 600_000);
    sidecar = await startBackground(process.execPath, [CLI, 'proxy', '--xds', `127.0.0.1:${Number(cp.ready[1])}`, '--proxy-type', 'sidecar', '--namespace', 'apps', '--label', 'app=echo',
      '--node-id', 'sidecar~127.0.0.1~echo-5d9c8b7f6-x2x4k.apps~apps.svc.cluster.local',
      '--port-map', `${ports.httpInbound}:${ports.httpApp},${ports.tcpInbound}:${ports.tcpApp},${await healthPortMap()}`,
      '--ca-address', `127.0.0.1:${Number(cp.ready[3])}`, '--ca-root', join(dir, 'state', 'ca', 'root', 'root-cert.pem'), '--spiffe', APP_ID, '--bootstrap-token', token,
      '--admin-port', String(ports.admin), '--drain-time-s', '1'], /connected to the control plane/);
    // No policy yet: both identities get through.
    await until(other, '/anything', 200);
  }, 90_000);

  afterAll(async () => {
    await sidecar?.stop();
    await cp?.stop();
    app?.closeAllConnections();
    await new Promise((r) => app?.close(r));
    await new Promise((r) => tcpApp?.close(r));
    await work?.cleanup();
  });

  it('ALLOW principal ns/a/sa/allowed on GET /public*: allowed 200, other 403, allowed 403 elsewhere; TCP matches nothing', async () => {
    await apply(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-public, namespace: apps }
spec:
  selector: { matchLabels: { app: echo } }
  action: ALLOW
  rules:
  - from: [{ source: { principals: [cluster.local/ns/a/sa/allowed] } }]
    to: [{ operation: { methods: [GET], paths: [/public*] } }]
`);
    await until(other, '/public/index.html', 403);
    const before = seen.length;
    expect(await get(allowed, '/public/index.html?x=1')).toEqual({ status: 200, body: 'app GET /public/index.html?x=1' });
    expect(await get(other, '/public/index.html')).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect(await get(allowed, '/admin')).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect(await get(allowed, '/public/x', 'POST')).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect(seen.slice(before)).toEqual(['GET /public/index.html?x=1']);
    // The rule needs HTTP (methods, paths): on the TCP port it matches nothing, so the ALLOW filter refuses everyone.
    expect(await tcpEcho(ports.tcpInbound, rootPem, allowed)).toBe('');
  });

  it('an ALLOW for the TCP port by principal: the allowed identity gets through, the other one is disconnected', async () => {
    await apply(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-tcp, namespace: apps }
spec:
  selector: { matchLabels: { app: echo } }
  rules:
  - from: [{ source: { principals: [cluster.local/ns/a/sa/allowed] } }]
    to: [{ operation: { ports: ["${ports.tcpInbound}"] } }]
`);
    const echoed = await eventually(() => tcpEcho(ports.tcpInbound, rootPem, allowed), (s) => s === 'ping\n');
    expect(echoed).toBe('ping\n');
    expect(await tcpEcho(ports.tcpInbound, rootPem, other)).toBe('');
  });

  it('a DENY for paths /admin* wins over an ALLOW that matches', async () => {
    await apply(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-admin, namespace: apps }
spec:
  rules:
  - from: [{ source: { principals: [cluster.local/ns/a/sa/allowed] } }]
    to: [{ operation: { paths: [/admin*] } }]
`);
    await until(allowed, '/admin/users', 200);
    await apply(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: apps }
spec:
  action: DENY
  rules:
  - to: [{ operation: { paths: [/admin*] } }]
`);
    await until(allowed, '/admin/users', 403);
    expect(await get(allowed, '/admin/users')).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect((await get(allowed, '/public/ok')).status).toBe(200);
    expect((await get(other, '/public/ok')).status).toBe(403);
  });

  it('a mesh-wide empty spec (allow-nothing) in the root namespace denies everything, until it is deleted', async () => {
    // Only the allow-nothing policy is left as an ALLOW policy: remove the others first.
    for (const name of ['allow-public', 'allow-tcp', 'allow-admin', 'deny-admin']) expect((await isthmus(['delete', 'authorizationpolicy', name, '-n', 'apps'])).code).toBe(0);
    await until(other, '/anything', 200);
    await apply(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: istio-system }
spec: {}
`);
    await until(allowed, '/public/ok', 403);
    expect(await get(allowed, '/public/ok')).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect((await get(other, '/anything')).status).toBe(403);
    expect(await tcpEcho(ports.tcpInbound, rootPem, allowed)).toBe('');
    expect((await isthmus(['delete', 'authorizationpolicy', 'allow-nothing', '-n', 'istio-system'])).code).toBe(0);
    await until(allowed, '/public/ok', 200);
  });

  it('the sidecar counts its RBAC decisions', async () => {
    const stats = await (await fetch(`http://127.0.0.1:${ports.admin}/stats`)).text();
    expect(stats).toMatch(new RegExp(`http\\.inbound_0\\.0\\.0\\.0_${ports.httpInbound}\\.rbac\\.denied: [1-9]`));
    expect(stats).toMatch(/tcp\.rbac\.denied: [1-9]/);
  });
});
