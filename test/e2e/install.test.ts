/**
 * isthmus install end to end: the seeds' IstioOperators, verbatim, install real control planes and
 * gateways under a supervisor; gateways come back after a crash; a second install changes nothing;
 * uninstall leaves no process, port or file outside the mesh's state dir.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import type { Server as TlsServer } from 'node:tls';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, exportPrivateKeyPem, toPem } from '../../src/pki/index.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
const SEEDS = join(import.meta.dirname, '..', 'fixtures', 'seeds');
const seed = (name: string) => readFileSync(join(SEEDS, name), 'utf8');

const work = mkdtempSync(join(tmpdir(), 'isthmus-install-'));
const home = join(work, 'home');
const env = { ...process.env, ISTHMUS_HOME: home, ISTHMUS_CONTEXTS: join(work, 'contexts.yaml') };

interface Run { code: number; stdout: string; stderr: string }
function isthmus(args: string[], input = '', timeoutMs = 90_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(input);
  });
}
async function ok(args: string[], input = ''): Promise<Run> {
  const r = await isthmus(args, input);
  if (r.code !== 0) throw new Error(`isthmus ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}
async function eventually<T>(fn: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (check(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 300));
  }
}

interface ProcView { name: string; kind: string; revision: string; pid: number | null; address: string; ports: string; restarts: number; state: string; pod: string }
interface MeshView { context: string; subnet: string; supervisor: { pid: number | null; running: boolean }; processes: ProcView[] }
async function meshStatus(context: string): Promise<MeshView> {
  const r = await ok(['--context', context, 'status', '-o', 'json']);
  return (JSON.parse(r.stdout) as { meshes: MeshView[] }).meshes[0] as MeshView;
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host, port });
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Every pid whose command line mentions this test's ISTHMUS_HOME. */
function processesUnder(dir: string): number[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
    } catch {
      return false;
    }
  }).map(Number);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** A TLS echo server offering ALPN istio: what a workload behind the east-west gateway would be. */
async function startBackend(): Promise<{ server: TlsServer; port: number }> {
  const ca = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
  const issued = await ca.issueWithNewKey({ spiffeId: 'spiffe://cluster.local/ns/backend/sa/echo' });
  const server = createTlsServer({ cert: toPem([issued.certificate]), key: await exportPrivateKeyPem(issued.keys.privateKey), ALPNProtocols: ['istio'] }, (socket) => {
    socket.on('data', (d: Buffer) => socket.write(`echo:${d.toString()}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

function throughEastWest(address: string, sni: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: address, port: 15443, servername: sni, ALPNProtocols: ['istio'], rejectUnauthorized: false });
    const timer = setTimeout(() => { socket.destroy(); resolve('timeout'); }, 3000);
    socket.once('secureConnect', () => socket.write('ping'));
    socket.once('data', (d: Buffer) => { clearTimeout(timer); socket.destroy(); resolve(d.toString()); });
    socket.once('error', (err) => { clearTimeout(timer); resolve(`error: ${err.message}`); });
  });
}

describe('isthmus install (seeds 000 and 003, verbatim)', () => {
  let backend: { server: TlsServer; port: number } | undefined;
  const contexts = ['eks', 'gke', 'vm'];

  beforeAll(async () => {
    backend = await startBackend();
  });

  afterAll(async () => {
    for (const ctx of contexts) await isthmus(['--context', ctx, 'uninstall', '--purge']);
    backend?.server.close();
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('eks: the control plane (-r 1-17, minimal) then the ingress gateway (empty profile): SYNCED in proxy-status, Service listed', async () => {
    const cp = await ok(['--context', 'eks', 'install', '-r', '1-17', '-y', '-f', '-'], seed('000-2-mesh-a-istiooperator-control-plane.yaml'));
    expect(cp.stdout).toMatch(/✔ istiod-1-17 running \(pid \d+\) on 127\.0\.\d+\.1 \[15010,15012,15014\]/);
    expect(cp.stdout).toMatch(/context "eks" created, pointing at http:\/\/127\.0\.\d+\.1:15014/);
    expect(cp.stdout).toContain('✔ Installation complete');
    const gw = await ok(['--context', 'eks', 'install', '-r', '1-17', '-y', '-f', '-'], seed('000-1-mesh-b-istiooperator-ingress-gateway.yaml'));
    expect(gw.stdout).toMatch(/\+ istio-ingressgateway\.istio-ingress \(ingressgateway, revision 1-17\) 127\.0\.\d+\.10 \[15021,80->8080,443->8443\]/);
    expect(gw.stdout).toContain('service/istio-ingress/istio-ingressgateway created');
    expect(gw.stdout).toMatch(/✔ istio-ingressgateway-[0-9a-f]{10}-[a-z0-9]{5}\.istio-ingress SYNCED with istiod-1-17/);

    const ps = await ok(['--context', 'eks', 'proxy-status']);
    expect(ps.stdout).toMatch(/istio-ingressgateway-[0-9a-f]{10}-[a-z0-9]{5}\.istio-ingress\s+Kubernetes\s+SYNCED\s+SYNCED\s+.*istiod-1-17-[0-9a-f]{10}-[a-z0-9]{5}/);
    const svc = await ok(['--context', 'eks', 'get', 'services', '-n', 'istio-ingress']);
    expect(svc.stdout).toMatch(/istio-ingressgateway\s+LoadBalancer\s+15021\/TCP,80\/TCP,443\/TCP\s+app=istio-ingressgateway,istio=ingressgateway,istio\.io\/rev=1-17/);
    // The gateway serves Istio's status port on its own address. (Its /healthz/ready answers 503 today: the
    // control plane points the `agent` cluster at 127.0.0.1:15000, not at the proxy's admin address.)
    const mesh = await meshStatus('eks');
    const ingress = mesh.processes.find((p) => p.kind === 'ingressgateway') as ProcView;
    const server = await eventually(() => fetch(`http://${ingress.address}:15021/healthz/ready`).then((r) => r.headers.get('server'), () => null), (s) => s === 'envoy');
    expect(server).toBe('envoy');
  }, 120_000);

  it('gke: the control plane, then the egress gateway; a changed gateways document restarts only the gateway', async () => {
    await ok(['--context', 'gke', 'install', '-r', '1-17', '-y', '-f', '-'], seed('000-2-mesh-a-istiooperator-control-plane.yaml'));
    await ok(['--context', 'gke', 'install', '-r', '1-17', '-y', '-f', '-'], seed('000-4-mesh-a-istiooperator-egress-gateway.yaml'));
    const ps = await ok(['--context', 'gke', 'proxy-status']);
    expect(ps.stdout).toMatch(/istio-egressgateway-[0-9a-f]{10}-[a-z0-9]{5}\.istio-egress\s+Kubernetes\s+SYNCED\s+SYNCED\s+.*istiod-1-17-/);
    const eks = await meshStatus('eks');
    const gke = await meshStatus('gke');
    expect(gke.subnet).not.toBe(eks.subnet);

    // Convergence: the same operator with one more ISTIO_META_ env var.
    const before = await meshStatus('gke');
    const changed = `${seed('000-4-mesh-a-istiooperator-egress-gateway.yaml')}      k8s:\n        env:\n        - name: ISTIO_META_REQUESTED_NETWORK_VIEW\n          value: network1\n`;
    const r = await ok(['--context', 'gke', 'install', '-r', '1-17', '-y', '-f', '-'], changed);
    expect(r.stdout).toMatch(/~ istio-egressgateway\.istio-egress .*restarted: arguments changed/);
    const after = await meshStatus('gke');
    const pid = (m: MeshView, kind: string) => m.processes.find((p) => p.kind === kind)?.pid;
    expect(pid(after, 'controlplane')).toBe(pid(before, 'controlplane'));
    expect(pid(after, 'egressgateway')).not.toBe(pid(before, 'egressgateway'));
  }, 120_000);

  it('vm (seed 003): east-west gateway SNI rows on 15443, survives SIGKILL (restarts 1) and carries traffic again; a second install changes nothing', async () => {
    const install = await ok(['--context', 'vm', 'install', '-y', '-f', '-'], seed('003-1-istiooperator-eastwest-gateway.yaml'));
    expect(install.stdout).toContain('meshconfig/mesh created');
    expect(install.stdout).toContain('service/istio-system/istio-eastwestgateway created');
    await ok(['--context', 'vm', 'apply', '-f', '-'], seed('003-2-gateway-eastwest-auto-passthrough.yaml'));
    await ok(['--context', 'vm', 'apply', '-f', '-'], [
      'apiVersion: v1', 'kind: Service', 'metadata: {name: frontend, namespace: simple-app}', 'spec:', '  selector: {app: frontend}', '  ports:', '  - {name: http, port: 80, targetPort: 8080}',
      '---',
      'apiVersion: networking.istio.io/v1beta1', 'kind: ServiceEntry', 'metadata: {name: echo, namespace: backend}', 'spec:', '  hosts: [echo.backend.svc.cluster.local]', '  location: MESH_INTERNAL',
      '  ports: [{number: 9443, name: tls, protocol: TLS}]', '  resolution: STATIC', `  endpoints: [{address: 127.0.0.1, ports: {tls: ${backend?.port}}}]`, '',
    ].join('\n'));
    const mesh = await meshStatus('vm');
    const ew = mesh.processes.find((p) => p.kind === 'ingressgateway') as ProcView;
    expect(ew.name).toBe('istio-eastwestgateway.istio-system');
    expect(ew.ports).toBe('15021,15443');
    const listeners = await eventually(() => isthmus(['--context', 'vm', 'proxy-config', 'listeners', `${ew.pod}.istio-system`, '--port', '15443']),
      (r) => /outbound_\.80_\._\.frontend/.test(r.stdout) && /echo\.backend/.test(r.stdout));
    expect(listeners.stdout).toMatch(/SNI: outbound_\.80_\._\.frontend\.simple-app\.svc\.cluster\.local/);
    expect(listeners.stdout).toMatch(/SNI: outbound_\.15443_\._\.istio-eastwestgateway\.istio-system\.svc\.cluster\.local/);
    expect(listeners.stdout).toMatch(/SNI: outbound_\.9443_\._\.echo\.backend\.svc\.cluster\.local/);
    const sni = 'outbound_.9443_._.echo.backend.svc.cluster.local';
    expect(await eventually(() => throughEastWest(ew.address, sni), (s) => s === 'echo:ping')).toBe('echo:ping');

    // Crash the gateway: the supervisor restarts it on the same address, with the same node id.
    process.kill(ew.pid as number, 'SIGKILL');
    const back = await eventually(() => meshStatus('vm'), (m) => m.processes.some((p) => p.name === ew.name && p.restarts === 1 && p.state === 'running'));
    const restarted = back.processes.find((p) => p.name === ew.name) as ProcView;
    expect(restarted).toMatchObject({ restarts: 1, state: 'running', address: ew.address });
    expect(restarted.pid).not.toBe(ew.pid);
    const log = readFileSync(join(home, 'meshes', 'vm', 'logs', 'supervisor.log'), 'utf8');
    expect(log).toMatch(/istio-eastwestgateway\.istio-system: exited \(signal SIGKILL\) after \d+ s; restarting in 1 s \(restart 1\)/);
    expect(await eventually(() => throughEastWest(ew.address, sni), (s) => s === 'echo:ping')).toBe('echo:ping');
    const ps = await eventually(() => isthmus(['--context', 'vm', 'proxy-status']), (r) => /SYNCED\s+SYNCED/.test(r.stdout));
    expect(ps.stdout).toMatch(new RegExp(`${ew.pod}\\.istio-system\\s+Kubernetes\\s+SYNCED\\s+SYNCED`));

    // The same document again: nothing to do, no process restarted.
    const again = await ok(['--context', 'vm', 'install', '-y', '-f', '-'], seed('003-1-istiooperator-eastwest-gateway.yaml'));
    expect(again.stdout).toContain('is already installed as written: no process to add, restart or remove');
    expect(again.stdout).toContain('meshconfig/mesh unchanged');
    expect(again.stdout).toContain('✔ Installation unchanged');
    const same = await meshStatus('vm');
    expect(same.processes.map((p) => p.pid)).toEqual(back.processes.map((p) => p.pid));

    const table = await ok(['--context', 'vm', 'status']);
    expect(table.stdout).toMatch(/NAME\s+KIND\s+REVISION\s+PID\s+ADDRESS\/PORTS\s+UPTIME\s+RESTARTS\s+STATE/);
    expect(table.stdout).toMatch(/istio-eastwestgateway\.istio-system\s+ingressgateway\s+default\s+\d+\s+127\.0\.\d+\.10:15021,15443\s+\S+\s+1\s+running/);
  }, 120_000);

  it('an invalid document installs nothing and names the field', async () => {
    const r = await isthmus(['--context', 'vm', 'install', '-y', '-f', '-'], 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata: {name: bad}\nspec:\n  profile: minimal\n  components:\n    cni:\n      enabled: true\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('spec.components.cni.enabled: cni cannot run here');
    expect(r.stderr).toContain('nothing was installed');
  });

  it('uninstall: no process, no listening port, no file outside the mesh state dirs', async () => {
    const views = await Promise.all(contexts.map(meshStatus));
    const endpoints = views.flatMap((m) => m.processes.flatMap((p) => p.kind === 'controlplane' ? [15010, 15012, 15014].map((port) => [p.address, port] as const) : [[p.address, 15021] as const]));
    expect(await Promise.all(endpoints.map(([h, p]) => tcpOpen(h, p)))).toEqual(endpoints.map(() => true));
    expect(processesUnder(home).length).toBeGreaterThanOrEqual(9); // 3 supervisors, 3 control planes, 3 gateways

    for (const ctx of ['eks', 'gke']) {
      const r = await ok(['--context', ctx, 'uninstall']);
      expect(r.stdout).toContain(`✔ mesh ${ctx} uninstalled`);
    }
    const purge = await ok(['--context', 'vm', 'uninstall', '--purge']);
    expect(purge.stdout).toContain('removed');

    expect(processesUnder(home)).toEqual([]);
    expect(await Promise.all(endpoints.map(([h, p]) => tcpOpen(h, p)))).toEqual(endpoints.map(() => false));
    const outside = filesUnder(work).filter((f) => !f.startsWith(join(home, 'meshes', 'eks') + '/') && !f.startsWith(join(home, 'meshes', 'gke') + '/'));
    expect(outside).toEqual([join(work, 'contexts.yaml')]);
    expect(readFileSync(join(work, 'contexts.yaml'), 'utf8')).not.toMatch(/name: (eks|gke|vm)\b/);
    expect(readdirSync(join(home, 'meshes')).sort()).toEqual(['eks', 'gke']);
    const status = await ok(['status']);
    expect(status.stdout).toMatch(/mesh eks: 127\.0\.\d+\.0\/24, supervisor not running/);
  }, 120_000);
});
