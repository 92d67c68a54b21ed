import { afterEach, describe, expect, it } from 'vitest';
import { TYPE_URL, decodeAny } from '../../../src/envoy/index.js';
import { Snapshot, SnapshotCache, XdsServer } from '../../../src/controlplane/xds/index.js';
import type { DeltaDiscoveryResponse } from '../../../src/envoy/index.js';
import { DeltaClient, assignment, edsCluster, sleep } from './helpers.js';

const { cluster: CDS, clusterLoadAssignment: EDS } = TYPE_URL;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(): Promise<{ server: XdsServer; cache: SnapshotCache; address: string }> {
  const cache = new SnapshotCache({ debounceMs: 0 });
  const server = new XdsServer({ cache });
  const port = await server.listen('127.0.0.1:0');
  cleanups.push(() => server.close(), () => cache.close());
  return { server, cache, address: `127.0.0.1:${port}` };
}

function connect(address: string, nodeId: string): DeltaClient {
  const client = new DeltaClient(address, { id: nodeId });
  cleanups.push(() => client.close());
  return client;
}

/** Clusters by name with a timeout each, and endpoints by name with a port each. */
function snapshot(clusters: Record<string, string>, endpoints: Record<string, number> = {}): Snapshot {
  return new Snapshot({
    [CDS]: { resources: Object.entries(clusters).map(([name, timeout]) => edsCluster(name, { connect_timeout: timeout })) },
    [EDS]: { resources: Object.entries(endpoints).map(([name, port]) => assignment(name, port)) },
  });
}

function sent(response: DeltaDiscoveryResponse): Record<string, unknown> {
  return Object.fromEntries(response.resources.map((r) => [r.name, r.resource ? decodeAny(r.resource) : undefined]));
}

describe('incremental (delta) ADS', () => {
  it('sends a wildcard subscriber all resources, then only what changed and the names removed', async () => {
    const { server, cache, address } = await startServer();
    cache.setSnapshot('n', snapshot({ a: '1s', b: '1s', c: '1s' }));
    const client = connect(address, 'n');
    client.request({ type_url: CDS });
    const first = await client.next(CDS);
    expect(Object.keys(sent(first)).sort()).toEqual(['a', 'b', 'c']);
    expect(first.removed_resources).toEqual([]);
    expect(first.resources.every((r) => r.version.length > 0)).toBe(true);
    client.ack(first);

    cache.setSnapshot('n', snapshot({ a: '2s', c: '1s', d: '1s' }));
    const second = await client.next(CDS);
    expect(Object.keys(sent(second)).sort()).toEqual(['a', 'd']); // c is unchanged
    expect((sent(second).a as { connect_timeout: string }).connect_timeout).toBe('2s');
    expect(second.removed_resources).toEqual(['b']);
    expect(second.system_version_info).not.toBe(first.system_version_info);
    client.ack(second);
    await sleep(50);
    expect(server.proxyStatus()[0]?.types.CDS.state).toBe('SYNCED');
    expect(server.proxyStatus()[0]?.protocol).toBe('delta');
  });

  it('answers named subscriptions and unsubscriptions resource by resource', async () => {
    const { cache, address } = await startServer();
    cache.setSnapshot('n', snapshot({}, { a: 1, b: 2 }));
    const client = connect(address, 'n');
    client.request({ type_url: EDS, resource_names_subscribe: ['a'] });
    const first = await client.next(EDS);
    expect(Object.keys(sent(first))).toEqual(['a']);
    client.ack(first, { resource_names_subscribe: ['b'] });
    const second = await client.next(EDS);
    expect(Object.keys(sent(second))).toEqual(['b']); // a is not sent again
    client.ack(second, { resource_names_unsubscribe: ['a'] });
    await client.inbox.nothingWithin(EDS, 150);

    // a changed but is no longer subscribed: nothing; b changed: only b.
    cache.setSnapshot('n', snapshot({}, { a: 11, b: 2 }));
    await client.inbox.nothingWithin(EDS, 150);
    cache.setSnapshot('n', snapshot({}, { a: 11, b: 22 }));
    const third = await client.next(EDS);
    expect(sent(third)).toEqual({ b: assignment('b', 22) });
    // Removing b from the snapshot tells the client to drop it.
    client.ack(third);
    cache.setSnapshot('n', snapshot({}, { a: 11 }));
    const fourth = await client.next(EDS);
    expect(fourth.resources).toEqual([]);
    expect(fourth.removed_resources).toEqual(['b']);
  });

  it('does not resend what a reconnecting client already holds (initial_resource_versions)', async () => {
    const { cache, address } = await startServer();
    cache.setSnapshot('n', snapshot({ a: '1s', b: '1s' }));
    const first = connect(address, 'n');
    first.request({ type_url: CDS });
    const response = await first.next(CDS);
    const held = Object.fromEntries(response.resources.map((r) => [r.name, r.version]));
    first.close();

    cache.setSnapshot('n', snapshot({ a: '1s', b: '5s' }));
    const again = connect(address, 'n');
    again.request({ type_url: CDS, initial_resource_versions: { ...held, gone: 'x' } });
    const resync = await again.next(CDS);
    expect(Object.keys(sent(resync))).toEqual(['b']);
    expect(resync.removed_resources).toEqual(['gone']);
  });

  it('parks a NACKed type until the snapshot changes, then sends what the client still lacks', async () => {
    const { server, cache, address } = await startServer();
    cache.setSnapshot('n', snapshot({ a: '1s' }));
    const client = connect(address, 'n');
    client.request({ type_url: CDS });
    client.ack(await client.next(CDS));

    cache.setSnapshot('n', snapshot({ a: '2s', b: '1s' }));
    const bad = await client.next(CDS);
    client.request({ type_url: CDS, response_nonce: bad.nonce, error_detail: { code: 3, message: 'cluster b: unsupported' } });
    await client.inbox.nothingWithin(CDS, 1000);
    const status = server.proxyStatus()[0];
    expect(status?.types.CDS.state).toBe('NACKED');
    expect(status?.types.CDS.lastNack?.message).toBe('cluster b: unsupported');

    // The fix changes only b; a (still 2s) must be sent again since the client rejected it too.
    cache.setSnapshot('n', snapshot({ a: '2s', b: '3s' }));
    const fixed = await client.next(CDS);
    expect(Object.keys(sent(fixed)).sort()).toEqual(['a', 'b']);
  });
});
