import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../../src/envoy/index.js';
import { Snapshot, SnapshotCache, XdsError, XdsServer } from '../../../src/controlplane/xds/index.js';
import type { XdsServerOptions } from '../../../src/controlplane/xds/index.js';
import { SotwClient, decoded, edsCluster, meshSnapshot, names, sleep } from './helpers.js';

const { cluster: CDS, clusterLoadAssignment: EDS, listener: LDS, routeConfiguration: RDS } = TYPE_URL;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(options: Partial<XdsServerOptions> & { debounceMs?: number } = {}): Promise<{ server: XdsServer; cache: SnapshotCache; address: string }> {
  const cache = new SnapshotCache({ debounceMs: options.debounceMs ?? 0 });
  const server = new XdsServer({ cache, ...options });
  const port = await server.listen('127.0.0.1:0');
  cleanups.push(() => server.close(), () => cache.close());
  return { server, cache, address: `127.0.0.1:${port}` };
}

function connect(address: string, nodeId: string, extra: Partial<SotwClient['node']> = {}, metadata?: grpc.Metadata): SotwClient {
  const client = new SotwClient(address, { id: nodeId, cluster: 'test', ...extra }, metadata ? { metadata } : {});
  cleanups.push(() => client.close());
  return client;
}

/** Subscribes CDS+LDS (wildcard), then EDS+RDS by the names they reference, ACKing everything. */
async function syncAll(client: SotwClient): Promise<void> {
  client.request(CDS);
  const cds = await client.next(CDS);
  client.ack(cds);
  client.request(EDS, names(cds));
  client.request(LDS);
  const lds = await client.next(LDS);
  client.ack(lds);
  client.request(RDS, ['r1']);
  client.ack(await client.next(EDS), names(cds));
  client.ack(await client.next(RDS), ['r1']);
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('state-of-the-world ADS', () => {
  it('serves CDS and LDS as wildcards, EDS and RDS by name, and reports SYNCED once everything is ACKed', async () => {
    const { server, cache, address } = await startServer();
    cache.setSnapshot('node-1', meshSnapshot(1, ['a', 'b']));
    const client = connect(address, 'node-1');

    client.request(CDS);
    const cds = await client.next(CDS);
    expect(cds.version_info).toBe('v1');
    expect(decoded(cds)).toEqual([
      { name: 'a', type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } }, connect_timeout: '1s' },
      { name: 'b', type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } }, connect_timeout: '1s' },
    ]);
    client.ack(cds);
    client.request(EDS, ['a']); // only what is asked for
    const eds = await client.next(EDS);
    expect(names(eds)).toEqual(['a']);
    client.ack(eds, ['a']);
    client.request(LDS);
    const lds = await client.next(LDS);
    expect(names(lds)).toEqual(['http']);
    client.ack(lds);
    client.request(RDS, ['r1']);
    const rds = await client.next(RDS);
    expect(decoded(rds)[0]).toMatchObject({ name: 'r1', virtual_hosts: [{ routes: [{ match: { prefix: '/g1' }, route: { cluster: 'a' } }] }] });
    client.ack(rds, ['r1']);

    const status = await waitFor(() => {
      const [proxy] = server.proxyStatus();
      return proxy && proxy.types.RDS.state === 'SYNCED' ? proxy : undefined;
    });
    expect(status.nodeId).toBe('node-1');
    expect(status.cluster).toBe('test');
    expect(status.protocol).toBe('sotw');
    expect({ CDS: status.types.CDS.state, EDS: status.types.EDS.state, LDS: status.types.LDS.state, RDS: status.types.RDS.state, SDS: status.types.SDS.state })
      .toEqual({ CDS: 'SYNCED', EDS: 'SYNCED', LDS: 'SYNCED', RDS: 'SYNCED', SDS: 'NOT SENT' });
    expect(status.types.CDS.acked?.version).toBe('v1');
    expect(status.types.CDS.latestVersion).toBe('v1');

    // Widening the EDS subscription is answered at the same version with both names.
    client.request(EDS, ['a', 'b'], { version: eds.version_info, nonce: eds.nonce });
    const wider = await client.next(EDS);
    expect(wider.version_info).toBe('v1');
    expect(names(wider).sort()).toEqual(['a', 'b']);
  });

  it('pushes a new snapshot in the order Envoy needs: CDS, EDS, LDS, RDS', async () => {
    const { cache, address } = await startServer();
    cache.setSnapshot('node-1', meshSnapshot(1));
    const client = connect(address, 'node-1');
    await syncAll(client);
    const before = client.inbox.received.length;
    cache.setSnapshot('node-1', meshSnapshot(2));
    for (const type of [CDS, EDS, LDS, RDS]) expect((await client.next(type)).version_info).toBe('v2');
    expect(client.inbox.received.slice(before).map((r) => r.type_url)).toEqual([CDS, EDS, LDS, RDS]);
  });

  it('does not answer an ACK or an unchanged snapshot, and ignores stale nonces', async () => {
    const { cache, address } = await startServer();
    cache.setSnapshot('node-1', meshSnapshot(1));
    const client = connect(address, 'node-1');
    client.request(CDS);
    const first = await client.next(CDS);
    client.ack(first);
    cache.setSnapshot('node-1', meshSnapshot(1)); // same versions
    await client.inbox.nothingWithin(CDS, 300);
    cache.setSnapshot('node-1', meshSnapshot(2));
    const second = await client.next(CDS);
    // An answer to the first response after the second went out is stale: no status change, no reply.
    client.nack(first, 'v1', 'late complaint about v1');
    await client.inbox.nothingWithin(CDS, 200);
    client.ack(second);
    expect(client.inbox.count(CDS)).toBe(2);
  });

  it('parks a NACKed type: no resend within a second, NACKED in status, un-parked by the next snapshot', async () => {
    const { server, cache, address } = await startServer();
    cache.setSnapshot('node-1', meshSnapshot(1));
    const client = connect(address, 'node-1');
    await syncAll(client);

    cache.setSnapshot('node-1', meshSnapshot(2));
    const cdsV2 = await client.next(CDS);
    client.ack(cdsV2);
    client.ack(await client.next(EDS), ['a', 'b']);
    const ldsV2 = await client.next(LDS);
    client.nack(ldsV2, 'v1', 'listener http: stat_prefix http_2 is not allowed');
    client.ack(await client.next(RDS), ['r1']);

    const ldsCount = client.inbox.count(LDS);
    await sleep(1000);
    expect(client.inbox.count(LDS)).toBe(ldsCount);
    const proxy = server.proxyStatus()[0];
    expect(proxy?.types.LDS.state).toBe('NACKED');
    expect(proxy?.types.LDS.lastNack).toMatchObject({ version: 'v2', message: 'listener http: stat_prefix http_2 is not allowed' });
    expect(proxy?.types.LDS.acked?.version).toBe('v1');
    expect(proxy?.types.CDS.state).toBe('SYNCED');

    // The parking is per stream: a proxy that restarts with the same node id (a fresh process that may
    // accept what its predecessor refused: a port that was busy) gets the current listeners at once.
    const again = connect(address, 'node-1');
    again.request(LDS);
    again.request(CDS);
    expect((await again.next(CDS)).version_info).toBe('v2');
    const againLds = await again.next(LDS);
    expect(againLds.version_info).toBe('v2');
    // It rejects them too: parked on its stream as well, no loop.
    again.nack(againLds, '', 'listener http: still not allowed');
    await again.inbox.nothingWithin(LDS, 300);
    // The first stream stayed parked meanwhile.
    expect(client.inbox.count(LDS)).toBe(ldsCount);

    cache.setSnapshot('node-1', meshSnapshot(3));
    const ldsV3 = await client.next(LDS);
    expect(ldsV3.version_info).toBe('v3');
    expect((await again.next(LDS)).version_info).toBe('v3');
    client.ack(ldsV3);
    await waitFor(() => (server.proxyStatus().find((p) => p.connectionId === proxy?.connectionId)?.types.LDS.state === 'SYNCED' ? true : undefined));
    const after = server.proxyStatus().find((p) => p.connectionId === proxy?.connectionId);
    expect(after?.types.LDS.lastNack?.version).toBe('v2'); // kept for the record
  });

  it('marks a response without ACK PENDING, then STALE after the grace period', async () => {
    const { server, cache, address } = await startServer({ staleAfterMs: 500 });
    cache.setSnapshot('node-1', meshSnapshot(1));
    const client = connect(address, 'node-1');
    client.request(CDS);
    await client.next(CDS);
    expect(server.proxyStatus()[0]?.types.CDS.state).toBe('PENDING');
    await sleep(550);
    expect(server.proxyStatus()[0]?.types.CDS.state).toBe('STALE');
  });

  it('answers once the node has a snapshot, and empty when a wildcard type has no resources', async () => {
    const { cache, address } = await startServer();
    const client = connect(address, 'late');
    client.request(CDS);
    await client.inbox.nothingWithin(CDS, 200);
    cache.setSnapshot('late', meshSnapshot(1));
    expect(names(await client.next(CDS))).toEqual(['a', 'b']);
    client.request(TYPE_URL.secret, ['missing-secret']);
    const sds = await client.next(TYPE_URL.secret);
    expect(sds.resources).toEqual([]);
  });

  it('coalesces 10 rapid snapshot updates into at most 2 pushes, ending at the last one', async () => {
    const { cache, address } = await startServer({ debounceMs: 100 });
    cache.setSnapshot('node-1', meshSnapshot(0));
    const client = connect(address, 'node-1');
    client.request(CDS);
    client.ack(await client.next(CDS));
    const before = client.inbox.count(CDS);
    for (let i = 1; i <= 10; i++) {
      cache.setSnapshot('node-1', meshSnapshot(i));
      await sleep(5);
    }
    await sleep(400);
    const pushes = client.inbox.received.filter((r) => r.type_url === CDS).slice(before);
    console.log(`debounce: 10 updates -> ${pushes.length} CDS push(es): ${pushes.map((p) => p.version_info).join(', ')}`);
    expect(pushes.length).toBeGreaterThanOrEqual(1);
    expect(pushes.length).toBeLessThanOrEqual(2);
    expect(pushes.at(-1)?.version_info).toBe('v10');
  });

  it('lets onNodeConnected build the snapshot from the node before anything is answered', async () => {
    const seen: Array<{ id?: string; cluster?: string; metadata?: unknown }> = [];
    const { server, cache, address } = await startServer({
      onNodeConnected: async (node) => {
        seen.push({ id: node.id, cluster: node.cluster, metadata: node.metadata });
        await sleep(50); // a translator doing real work
        const cluster = String((node.metadata as { SERVICE?: string } | undefined)?.SERVICE);
        cache.setSnapshot(node.id as string, new Snapshot({ [CDS]: { resources: [edsCluster(cluster)] } }));
      },
    });
    const client = connect(address, 'vm-1', { cluster: 'vms', metadata: { SERVICE: 'fortune', LABELS: { app: 'vm' } } });
    client.request(CDS);
    expect(names(await client.next(CDS))).toEqual(['fortune']);
    expect(seen).toEqual([{ id: 'vm-1', cluster: 'vms', metadata: { SERVICE: 'fortune', LABELS: { app: 'vm' } } }]);
    expect(server.proxyStatus()[0]?.metadata).toEqual({ SERVICE: 'fortune', LABELS: { app: 'vm' } });
  });

  it('ends the stream with a status naming the problem: no node id, failed setup, refused credentials', async () => {
    const { address } = await startServer({
      onNodeConnected: (node) => {
        if (node.id === 'broken') throw new Error('registry unavailable');
      },
      authenticate: (call) => {
        if (call.metadata.get('authorization')[0] !== 'Bearer good') throw new XdsError('ERR_XDS_UNAUTHENTICATED', 'bad token');
        return { principal: 'spiffe://cluster.local/ns/default/sa/vm', method: 'token' };
      },
    });
    const good = new grpc.Metadata();
    good.set('authorization', 'Bearer good');

    const noNode = connect(address, '', {}, good);
    noNode.request(CDS);
    const status1 = await noNode.inbox.waitForEnd();
    expect(status1.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status1.details).toContain('node.id');

    const broken = connect(address, 'broken', {}, good);
    broken.request(CDS);
    const status2 = await broken.inbox.waitForEnd();
    expect(status2.code).toBe(grpc.status.UNAVAILABLE);
    expect(status2.details).toContain('registry unavailable');

    const stranger = connect(address, 'node-1');
    stranger.request(CDS);
    const status3 = await stranger.inbox.waitForEnd();
    expect(status3.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(status3.details).toContain('bad token');
  });

  it('shows the authenticated identity in proxy status and forgets a proxy that disconnects', async () => {
    const { server, cache, address } = await startServer({
      authenticate: () => ({ principal: 'spiffe://cluster.local/ns/default/sa/vm', method: 'token' }),
    });
    cache.setSnapshot('node-1', meshSnapshot(1));
    const client = connect(address, 'node-1');
    client.request(CDS);
    await client.next(CDS);
    expect(server.proxyStatus()[0]?.identity).toEqual({ principal: 'spiffe://cluster.local/ns/default/sa/vm', method: 'token' });
    client.close();
    await waitFor(() => (server.proxyStatus().length === 0 ? true : undefined));
  });

  it('pushes a change to 200 connected proxies', async () => {
    const { cache, address } = await startServer({ debounceMs: 100 });
    const count = 200;
    const shared = meshSnapshot(1);
    const clients: SotwClient[] = [];
    for (let i = 0; i < count; i++) {
      cache.setSnapshot(`proxy-${i}`, shared);
      const client = connect(address, `proxy-${i}`);
      client.request(CDS);
      clients.push(client);
    }
    const connectStart = performance.now();
    await Promise.all(clients.map(async (c) => c.ack(await c.next(CDS, 15_000))));
    const connected = performance.now() - connectStart;

    const next = meshSnapshot(2); // one snapshot object: encoded once, shared by every node
    const start = performance.now();
    for (let i = 0; i < count; i++) cache.setSnapshot(`proxy-${i}`, next);
    const received = await Promise.all(clients.map(async (c) => (await c.next(CDS, 15_000)).version_info));
    const elapsed = performance.now() - start;
    console.log(`fan-out: ${count} proxies connected and got CDS in ${connected.toFixed(0)} ms; a change reached all of them in ${elapsed.toFixed(0)} ms (debounce 100 ms included)`);
    expect(received.every((v) => v === 'v2')).toBe(true);
  }, 60_000);
});
