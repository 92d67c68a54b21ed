import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createNetServer, connect } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually, freePort, gatewayToUpstream, httpGet, isthmusCli, proxyStatus, randomNet, startControlPlane, startIsthmus, stopChild, syncedRows,
} from './helpers/mesh.js';
import type { ControlPlaneProcess, Started } from './helpers/mesh.js';

/**
 * A gateway that comes back under the same node id (kill -9 and start again, the pod restarted in place)
 * gets its whole config again, with no config change: CDS and LDS SYNCED, traffic served. Regression for
 * "restarted with the same node id got CDS but never LDS (LDS NOT SENT)": the xDS server parked the LDS
 * version the previous process had NACKed per node id, so the new process never got listeners; and the end
 * of the previous stream, when it arrived after the new stream, made the control plane forget the new one.
 */

const NET = randomNet();
const GW_IP = `${NET}.2`;
const NODE_ID = `router~${GW_IP}~gw-1.ns~ns.svc.cluster.local`;


/**
 * A TCP relay that tells the control plane about a client gone only after `lingerMs`: what a control plane
 * sees when a pod dies without FIN, or through a load balancer. The new stream connects before the old ends.
 */
function lingeringRelay(target: number, lingerMs: number): Promise<{ server: NetServer; port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream, { end: false });
    upstream.pipe(client);
    client.on('error', () => undefined);
    upstream.on('error', () => client.destroy());
    client.on('close', () => setTimeout(() => upstream.destroy(), lingerMs).unref());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    server,
    port: (server.address() as { port: number }).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  })));
}

/** The gateway in these tests runs revision 1-17. */
const REV_SELECTOR = '{ app: gw, istio.io/rev: 1-17 }';

describe('a gateway restarted with the same node id', { timeout: 120_000 }, () => {
  let dir: string;
  let configDir: string;
  const upstreams: Server[] = [];
  const ports: number[] = [];
  let cp: ControlPlaneProcess | undefined;
  let gateway: Started | undefined;
  let xdsPort: number;

  const startGateway = (xds: string): Promise<Started> => startIsthmus(['proxy', '--xds', xds, '--proxy-type', 'router', '--node-id', NODE_ID, '--ip', GW_IP,
    '--namespace', 'ns', '--label', 'app=gw', '--label', 'istio.io/rev=1-17', '--port-map', '80:8080', '--drain-time-s', '0'], /connected to the control plane/);
  const startCp = () => startControlPlane(['--state-dir', join(dir, 'state'), '--config-dir', configDir, '--xds-address', `127.0.0.1:${xdsPort}`, '-r', '1-17', '-l', 'debug']);
  const get = () => httpGet(`http://${GW_IP}:8080/`);
  const synced = async (): Promise<boolean> => syncedRows(await proxyStatus(cp?.server ?? ''), NODE_ID).length === 1 && (await get()).status === 200;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-reconnect-'));
    configDir = join(dir, 'config');
    mkdirSync(configDir);
    for (const body of ['one', 'two']) {
      const server = createServer((_req, res) => res.end(body));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      upstreams.push(server);
      ports.push((server.address() as { port: number }).port);
    }
    writeFileSync(join(configDir, 'gateway.yaml'), gatewayToUpstream(ports[0] as number, { selector: REV_SELECTOR }));
    xdsPort = await freePort();
    cp = await startCp();
    gateway = await startGateway(cp.xds);
    const ok = await eventually(synced, (v) => v);
    expect(ok).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await stopChild(gateway?.child, 'SIGKILL');
    await stopChild(cp?.child);
    for (const s of upstreams) await new Promise((r) => s.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  async function killAndRestart(xds: string): Promise<void> {
    await stopChild(gateway?.child, 'SIGKILL');
    gateway = await startGateway(xds);
  }

  it('kill -9 and start again: SYNCED on CDS and LDS, serving, with no config change', async () => {
    for (let round = 0; round < 2; round++) {
      await killAndRestart(cp?.xds ?? '');
      const rows = await eventually(() => proxyStatus(cp?.server ?? ''), (r) => syncedRows(r, NODE_ID).length === 1);
      expect(rows.filter((r) => r.nodeId === NODE_ID).map((r) => [r.types.CDS?.state, r.types.LDS?.state, r.types.RDS?.state])).toEqual([['SYNCED', 'SYNCED', 'SYNCED']]);
      expect(await get()).toMatchObject({ status: 200, body: 'one' });
    }
  });

  it('a process that NACKed the listeners (port busy) is killed; its successor gets LDS and serves', async () => {
    await stopChild(gateway?.child, 'SIGKILL');
    // Something else holds the gateway's port while the next process starts: it must NACK LDS.
    const squatter = createNetServer();
    await new Promise<void>((r) => squatter.listen(8080, GW_IP, r));
    gateway = await startGateway(cp?.xds ?? '');
    const nacked = await eventually(() => proxyStatus(cp?.server ?? ''), (r) => r.some((row) => row.nodeId === NODE_ID && row.types.LDS?.state === 'NACKED'));
    expect(nacked.find((r) => r.nodeId === NODE_ID)?.types.LDS?.state).toBe('NACKED');
    await new Promise<void>((r) => squatter.close(() => r()));

    // Restarted in place: the same listeners at the same version are not "the rejected config" for it.
    await killAndRestart(cp?.xds ?? '');
    const rows = await eventually(() => proxyStatus(cp?.server ?? ''), (r) => syncedRows(r, NODE_ID).length === 1, 10_000);
    expect(rows.filter((r) => r.nodeId === NODE_ID).map((r) => r.types.LDS?.state)).toEqual(['SYNCED']);
    expect(await eventually(get, (r) => r.status === 200)).toMatchObject({ status: 200, body: 'one' });
  });

  it('the old stream ends after the new one connected: the control plane keeps the new proxy', async () => {
    const relay = await lingeringRelay(xdsPort, 3_000);
    try {
      await killAndRestart(`127.0.0.1:${relay.port}`);
      await eventually(() => proxyStatus(cp?.server ?? ''), (r) => syncedRows(r, NODE_ID).length >= 1);
      await killAndRestart(`127.0.0.1:${relay.port}`);
      // The previous stream is still open for a while: two rows, then the old one goes.
      const rows = await eventually(() => proxyStatus(cp?.server ?? ''), (r) => r.filter((row) => row.nodeId === NODE_ID).length === 1 && syncedRows(r, NODE_ID).length === 1, 15_000);
      expect(syncedRows(rows, NODE_ID)).toHaveLength(1);
      expect((await get()).body).toBe('one');
      // Still known: proxy-config answers, and a config change reaches it.
      const routes = await isthmusCli(cp?.server ?? '', ['proxy-config', 'routes', 'gw-1.ns']);
      expect(routes.code, routes.stderr).toBe(0);
      expect(routes.stdout).toContain('vs.ns');
      writeFileSync(join(configDir, 'gateway.yaml'), gatewayToUpstream(ports[1] as number, { selector: REV_SELECTOR }));
      expect(await eventually(get, (r) => r.body === 'two')).toMatchObject({ status: 200, body: 'two' });
      writeFileSync(join(configDir, 'gateway.yaml'), gatewayToUpstream(ports[0] as number, { selector: REV_SELECTOR }));
      expect(await eventually(get, (r) => r.body === 'one')).toMatchObject({ status: 200, body: 'one' });
    } finally {
      await killAndRestart(cp?.xds ?? '');
      await relay.close();
    }
  });

  it('the control plane is killed and restarted: the gateway serves meanwhile and comes back SYNCED', async () => {
    await eventually(synced, (v) => v);
    await stopChild(cp?.child, 'SIGKILL');
    expect(await get()).toMatchObject({ status: 200, body: 'one' });
    cp = await startCp();
    const rows = await eventually(() => proxyStatus(cp?.server ?? ''), (r) => syncedRows(r, NODE_ID).length === 1, 45_000);
    expect(syncedRows(rows, NODE_ID)).toHaveLength(1);
    // And a gateway restart right after still gets everything.
    await killAndRestart(cp.xds);
    expect(await eventually(synced, (v) => v)).toBe(true);
    expect((await get()).body).toBe('one');
  }, 90_000);
});

