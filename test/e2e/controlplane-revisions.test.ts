import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, gatewayToUpstream, httpGet, isthmusCli, proxyStatus, randomNet, startControlPlane, startIsthmus, stopChild, syncedRows } from './helpers/mesh.js';
import type { ControlPlaneProcess, Started } from './helpers/mesh.js';

/**
 * Istio's revisions side by side: istiod-1-17 and istiod-1-18 read the same config (here: one --config-dir,
 * each with its own state dir), and each serves only the proxies labelled with its revision. Gateways and
 * VirtualServices are not revision-scoped: both revisions' gateways serve the same Gateway.
 */

const NET = randomNet();
const node = (ip: string, pod: string) => `router~${ip}~${pod}.ns~ns.svc.cluster.local`;
const GW_17 = { ip: `${NET}.2`, id: node(`${NET}.2`, 'gw-17') };
const GW_18 = { ip: `${NET}.3`, id: node(`${NET}.3`, 'gw-18') };
const GW_18_LOST = { ip: `${NET}.4`, id: node(`${NET}.4`, 'gw-18-lost') };
const GW_NONE = { ip: `${NET}.5`, id: node(`${NET}.5`, 'gw-none') };

describe('two control plane revisions on one config dir', { timeout: 120_000 }, () => {
  let dir: string;
  let configDir: string;
  let upstream: Server;
  let upstreamPort: number;
  let cp17: ControlPlaneProcess | undefined;
  let cp18: ControlPlaneProcess | undefined;
  const proxies: Started[] = [];

  const gateway = (xds: string, gw: { ip: string; id: string }, labels: string[], ready = /connected to the control plane/): Promise<Started> =>
    startIsthmus(['proxy', '--xds', xds, '--proxy-type', 'router', '--node-id', gw.id, '--ip', gw.ip, '--namespace', 'ns', '--label', 'app=gw',
      ...labels.flatMap((l) => ['--label', l]), '--port-map', '80:8080', '--drain-time-s', '0'], ready).then((p) => {
      proxies.push(p);
      return p;
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-revisions-'));
    configDir = join(dir, 'config');
    mkdirSync(configDir);
    upstream = createServer((req, res) => res.end(`upstream saw ${req.url ?? ''}`));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamPort = (upstream.address() as { port: number }).port;
    writeFileSync(join(configDir, 'gateway.yaml'), gatewayToUpstream(upstreamPort, { prefix: '/v1' }));
    [cp17, cp18] = await Promise.all([
      startControlPlane(['--state-dir', join(dir, 'state-1-17'), '--config-dir', configDir, '--xds-address', '127.0.0.1:0', '-r', '1-17']),
      startControlPlane(['--state-dir', join(dir, 'state-1-18'), '--config-dir', configDir, '--xds-address', '127.0.0.1:0', '-r', '1-18']),
    ]);
  }, 60_000);

  afterAll(async () => {
    for (const p of proxies) await stopChild(p.child, 'SIGKILL');
    await stopChild(cp17?.child);
    await stopChild(cp18?.child);
    await new Promise((r) => upstream.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('names itself after its revision', () => {
    expect(cp17?.name).toBe('istiod-1-17');
    expect(cp17?.match[2]).toBe('revision 1-17');
    expect(cp18?.name).toBe('istiod-1-18');
  });

  it('each revision serves its own gateways, with the same Gateway config', async () => {
    await gateway(cp17?.xds ?? '', GW_17, ['istio.io/rev=1-17']);
    await gateway(cp18?.xds ?? '', GW_18, ['istio.io/rev=1-18']);
    const rows17 = await eventually(() => proxyStatus(cp17?.server ?? ''), (r) => syncedRows(r, GW_17.id).length === 1);
    const rows18 = await eventually(() => proxyStatus(cp18?.server ?? ''), (r) => syncedRows(r, GW_18.id).length === 1);
    expect(rows17.map((r) => [r.name, r.controlPlane, r.version, r.revision])).toEqual([['gw-17.ns', 'istiod-1-17', '1.17.2', '1-17']]);
    expect(rows18.map((r) => [r.name, r.controlPlane, r.version, r.revision])).toEqual([['gw-18.ns', 'istiod-1-18', '1.18.0', '1-18']]);

    for (const gw of [GW_17, GW_18]) {
      expect(await eventually(() => httpGet(`http://${gw.ip}:8080/v1/hello`), (r) => r.status === 200)).toMatchObject({ status: 200, body: 'upstream saw /v1/hello' });
      expect((await httpGet(`http://${gw.ip}:8080/v2/hello`)).status).toBe(404);
    }
    // The table, as istioctl prints it: ISTIOD and VERSION columns.
    const table = await isthmusCli(cp18?.server ?? '', ['proxy-status']);
    expect(table.stdout).toMatch(/^NAME\s+CLUSTER\s+CDS\s+LDS\s+EDS\s+RDS\s+ECDS\s+ISTIOD\s+VERSION/);
    expect(table.stdout).toMatch(/gw-18\.ns\s+Kubernetes\s+SYNCED\s+SYNCED\s+.*istiod-1-18\s+1\.18\.0/);
  });

  it('an edit of the shared config dir reaches both revisions', async () => {
    writeFileSync(join(configDir, 'gateway.yaml'), gatewayToUpstream(upstreamPort, { prefix: '/v2' }));
    for (const gw of [GW_17, GW_18]) {
      expect(await eventually(() => httpGet(`http://${gw.ip}:8080/v2/x`), (r) => r.status === 200)).toMatchObject({ status: 200, body: 'upstream saw /v2/x' });
      expect((await httpGet(`http://${gw.ip}:8080/v1/x`)).status).toBe(404);
    }
  });

  it('a gateway of revision 1-18 pointed at istiod-1-17 is refused, and the proxy logs why', async () => {
    const lost = await gateway(cp17?.xds ?? '', GW_18_LOST, ['istio.io/rev=1-18'], /the control plane refused this proxy[^\n]*/);
    expect(lost.match[0]).toContain('labelled istio.io/rev=1-18');
    expect(lost.match[0]).toContain('control plane istiod-1-17 serves revision 1-17');
    const rows = await proxyStatus(cp17?.server ?? '');
    expect(rows.map((r) => r.nodeId)).toEqual([GW_17.id]);
    // Not configured: nothing listens on its port.
    expect((await httpGet(`http://${GW_18_LOST.ip}:8080/v2/x`)).status).toBe(0);
    // The CLI says so under the table.
    const table = await isthmusCli(cp17?.server ?? '', ['proxy-status']);
    expect(table.stdout).toContain('gw-17.ns');
    expect(table.stdout).not.toContain('gw-18-lost.ns ');
    expect(table.stderr).toContain('gw-18-lost.ns');
    expect(table.stderr).toContain('istio.io/rev=1-18');
  });

  it('a proxy without the label is served only by the default revision', async () => {
    const lost = await gateway(cp17?.xds ?? '', GW_NONE, [], /the control plane refused this proxy[^\n]*/);
    expect(lost.match[0]).toContain('has no istio.io/rev label');
    await stopChild(lost.child, 'SIGKILL');
    // Now with istiod-1-17 as the default revision as well.
    const cpDefault = await startControlPlane(['--state-dir', join(dir, 'state-default'), '--config-dir', configDir, '--xds-address', '127.0.0.1:0', '-r', '1-17', '--default-revision', '--name', 'istiod-1-17-6f5f489dd6-l6krg']);
    try {
      expect(cpDefault.match[2]).toBe('revision 1-17, default');
      await gateway(cpDefault.xds, GW_NONE, []);
      const rows = await eventually(() => proxyStatus(cpDefault.server), (r) => syncedRows(r, GW_NONE.id).length === 1);
      expect(rows.map((r) => [r.name, r.controlPlane])).toEqual([['gw-none.ns', 'istiod-1-17-6f5f489dd6-l6krg']]);
      expect(await eventually(() => httpGet(`http://${GW_NONE.ip}:8080/v2/y`), (r) => r.status === 200)).toMatchObject({ status: 200 });
    } finally {
      await stopChild(cpDefault.child);
    }
  });
});
