// Cluster discovery types and load balancing against real HTTP servers on 127.0.0.1.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../../../src/envoy/index.js';
import { ClusterConfigError } from '../../../src/proxy/upstream/index.js';
import type { UpstreamClusterManager } from '../../../src/proxy/upstream/index.js';
import type { Backend } from './fixtures.js';
import { httpBackend, lbEndpoint, manager, readBody, request, send, staticCluster } from './fixtures.js';

let backends: Backend[] = [];
let cm: UpstreamClusterManager;
let stat: (name: string) => number;

beforeAll(async () => {
  backends = await Promise.all(['a', 'b', 'c'].map((n) => httpBackend(n)));
});
afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
});
afterEach(async () => {
  await cm?.close();
});

function fresh(): void {
  ({ cm, stat } = manager());
}

/** Which backend answered each of `n` requests. */
async function spread(clusterName: string, n: number): Promise<Record<string, number>> {
  const cluster = cm.get(clusterName)!;
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const { body } = await send(cluster);
    const name = body.split(' ')[0] as string;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

describe('ROUND_ROBIN', () => {
  it('spreads requests evenly over STATIC hosts', async () => {
    fresh();
    await cm.addOrUpdate(staticCluster('rr', backends.map((b) => b.port)));
    expect(await spread('rr', 9)).toEqual({ a: 3, b: 3, c: 3 });
    expect(stat('cluster.rr.membership_total')).toBe(3);
    expect(stat('cluster.rr.upstream_rq_total')).toBe(9);
    expect(stat('cluster.rr.upstream_rq_2xx')).toBe(9);
    expect(stat('cluster.rr.upstream_rq_200')).toBe(9);
  });

  it('honours load_balancing_weight', async () => {
    fresh();
    const [a, b] = backends as [Backend, Backend];
    await cm.addOrUpdate({
      name: 'weighted',
      load_assignment: { endpoints: [{ lb_endpoints: [lbEndpoint('127.0.0.1', a.port, 1), lbEndpoint('127.0.0.1', b.port, 3)] }] },
    });
    expect(await spread('weighted', 8)).toEqual({ a: 2, b: 6 });
  });

  it('spreads over every address of a STRICT_DNS name (localhost, V4_ONLY)', async () => {
    fresh();
    const [a, b] = backends as [Backend, Backend];
    await cm.addOrUpdate({
      name: 'dns',
      type: 'STRICT_DNS',
      dns_lookup_family: 'V4_ONLY',
      load_assignment: { endpoints: [{ lb_endpoints: [lbEndpoint('localhost', a.port), lbEndpoint('localhost', b.port)] }] },
    });
    const hosts = cm.get('dns')!.hosts();
    expect(hosts.map((h) => h.id).sort()).toEqual([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`].sort());
    expect(hosts.every((h) => h.hostname === 'localhost')).toBe(true);
    expect(await spread('dns', 6)).toEqual({ a: 3, b: 3 });
    expect(stat('cluster.dns.membership_total')).toBe(2);
  });
});

describe('LEAST_REQUEST', () => {
  it('sends new requests to the idle host while another one is busy', async () => {
    fresh();
    let release: (() => void) | undefined;
    const slow = await httpBackend('slow', (_req, res) => {
      release = () => res.end('slow');
    });
    const idle = backends[0] as Backend;
    try {
      await cm.addOrUpdate(staticCluster('lr', [slow.port, idle.port], { lb_policy: 'LEAST_REQUEST' }));
      const cluster = cm.get('lr')!;
      const slowHost = cluster.hosts().find((h) => h.port === slow.port)!;
      const busy = cluster.httpRequest(request(), slowHost);
      await new Promise((r) => setTimeout(r, 50));
      expect(slowHost.activeRequests).toBe(1);
      expect(await spread('lr', 10)).toEqual({ a: 10 });
      release?.();
      expect(await readBody(await busy)).toBe('slow');
      expect(slowHost.activeRequests).toBe(0);
    } finally {
      await slow.close();
    }
  });
});

describe('RANDOM', () => {
  it('reaches every host and avoids excluded hosts', async () => {
    fresh();
    await cm.addOrUpdate(staticCluster('random', backends.map((b) => b.port), { lb_policy: 'RANDOM' }));
    const cluster = cm.get('random')!;
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(cluster.chooseHost()!.port);
    expect(seen.size).toBe(3);
    const [first, second] = cluster.hosts();
    for (let i = 0; i < 50; i++) {
      const h = cluster.chooseHost(new Set([first!, second!]));
      expect(h!.port).toBe(backends[2]!.port);
    }
  });
});

describe('cluster types', () => {
  it('a STRICT_DNS name that does not resolve contributes no host; the other endpoints serve', async () => {
    fresh();
    const a = backends[0] as Backend;
    await cm.addOrUpdate({
      name: 'partial',
      type: 'STRICT_DNS',
      dns_lookup_family: 'V4_ONLY',
      load_assignment: { endpoints: [{ lb_endpoints: [lbEndpoint('does-not-exist.invalid', 80), lbEndpoint('localhost', a.port)] }] },
    });
    expect(cm.get('partial')!.hosts().map((h) => h.id)).toEqual([`127.0.0.1:${a.port}`]);
    expect(await spread('partial', 2)).toEqual({ a: 2 });
  });

  it('LOGICAL_DNS keeps one host per endpoint, at the resolved address', async () => {
    fresh();
    const a = backends[0] as Backend;
    await cm.addOrUpdate({
      name: 'logical',
      type: 'LOGICAL_DNS',
      dns_lookup_family: 'V4_ONLY',
      load_assignment: { endpoints: [{ lb_endpoints: [lbEndpoint('localhost', a.port)] }] },
    });
    const hosts = cm.get('logical')!.hosts();
    expect(hosts).toHaveLength(1);
    expect(hosts[0]).toMatchObject({ address: '127.0.0.1', port: a.port, hostname: 'localhost', id: `127.0.0.1:${a.port}` });
    expect((await send(cm.get('logical')!)).body).toBe('a GET /');
  });

  it('EDS clusters have no hosts until endpoints are pushed, then balance over them', async () => {
    fresh();
    await cm.addOrUpdate({ name: 'eds', type: 'EDS', connect_timeout: '1s' });
    const cluster = cm.get('eds')!;
    expect(cluster.hosts()).toHaveLength(0);
    expect(cluster.chooseHost()).toBeUndefined();
    cm.updateEndpoints('eds', { cluster_name: 'eds', endpoints: [{ lb_endpoints: backends.slice(0, 2).map((b) => lbEndpoint('127.0.0.1', b.port)) }] });
    expect(cluster.hosts()).toHaveLength(2);
    expect(await spread('eds', 4)).toEqual({ a: 2, b: 2 });
    // A bad assignment is refused and the last good one stays.
    expect(() => cm.updateEndpoints('eds', { endpoints: [{ lb_endpoints: [lbEndpoint('not-an-ip', 80)] }] })).toThrow(/cluster "eds".*not an IP address/);
    expect(cluster.hosts()).toHaveLength(2);
  });

  it('an assignment pushed before its EDS cluster is applied when the cluster arrives', async () => {
    fresh();
    cm.updateEndpoints('early', { endpoints: [{ lb_endpoints: [lbEndpoint('127.0.0.1', backends[1]!.port)] }] });
    await cm.addOrUpdate({ name: 'early', type: 'EDS' });
    expect((await send(cm.get('early')!)).body).toBe('b GET /');
  });

  it('unhealthy EDS hosts get no requests; a lower priority takes over when priority 0 is unhealthy', async () => {
    fresh();
    const [a, b, c] = backends as [Backend, Backend, Backend];
    await cm.addOrUpdate({ name: 'prio', type: 'EDS' });
    cm.updateEndpoints('prio', {
      endpoints: [
        { priority: 0, lb_endpoints: [{ ...lbEndpoint('127.0.0.1', a.port), health_status: 'UNHEALTHY' }, lbEndpoint('127.0.0.1', b.port)] },
        { priority: 1, lb_endpoints: [lbEndpoint('127.0.0.1', c.port)] },
      ],
    });
    expect(await spread('prio', 4)).toEqual({ b: 4 });
    cm.updateEndpoints('prio', {
      endpoints: [
        { priority: 0, lb_endpoints: [{ ...lbEndpoint('127.0.0.1', a.port), health_status: 'DRAINING' }] },
        { priority: 1, lb_endpoints: [lbEndpoint('127.0.0.1', c.port)] },
      ],
    });
    expect(await spread('prio', 3)).toEqual({ c: 3 });
    expect(stat('cluster.prio.membership_total')).toBe(2);
    expect(stat('cluster.prio.membership_healthy')).toBe(1);
  });

  it('a cluster without hosts has nothing to choose, and a host of another cluster is refused with UH', async () => {
    fresh();
    await cm.addOrUpdate({ name: 'empty', type: 'STATIC', load_assignment: { endpoints: [] } });
    await cm.addOrUpdate(staticCluster('one', [backends[0]!.port]));
    expect(cm.get('empty')!.chooseHost()).toBeUndefined();
    const foreign = cm.get('one')!.chooseHost()!;
    await expect(cm.get('empty')!.httpRequest(request(), foreign)).rejects.toMatchObject({ flag: 'UH' });
  });

  it('replacing a cluster keeps serving; an identical config keeps the same handle and pools', async () => {
    fresh();
    const [a, b] = backends as [Backend, Backend];
    const config = staticCluster('swap', [a.port]);
    await cm.addOrUpdate(config);
    const first = cm.get('swap');
    await cm.addOrUpdate(JSON.parse(JSON.stringify(config)) as Cluster);
    expect(cm.get('swap')).toBe(first);
    await cm.addOrUpdate(staticCluster('swap', [b.port]));
    expect(cm.get('swap')).not.toBe(first);
    expect((await send(cm.get('swap')!)).body).toBe('b GET /');
    await cm.remove('swap');
    expect(cm.get('swap')).toBeUndefined();
    expect(cm.names()).toEqual([]);
  });
});

describe('invalid clusters', () => {
  const cases: Array<[string, Cluster, RegExp]> = [
    ['an unsupported lb_policy', staticCluster('ring', [1], { lb_policy: 'RING_HASH' }), /cluster "ring".*lb_policy.*RING_HASH/],
    ['ORIGINAL_DST', { name: 'odst', type: 'ORIGINAL_DST' }, /cluster "odst".*ORIGINAL_DST clusters are not supported/],
    ['a STATIC endpoint given as a name', { name: 'named', load_assignment: { endpoints: [{ lb_endpoints: [lbEndpoint('example.com', 80)] }] } }, /cluster "named": load_assignment\.endpoints\[0\]\.lb_endpoints\[0\]\.endpoint\.address\.socket_address\.address: "example\.com" is not an IP address/],
    ['an endpoint without a port', { name: 'noport', load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1' } } } }] }] } }, /port_value/],
    ['auto_config protocol selection', staticCluster('auto', [1], { typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', auto_config: {} } } }), /auto_config/],
  ];
  for (const [what, config, message] of cases) {
    it(`refuses ${what}`, async () => {
      fresh();
      const failure = await cm.addOrUpdate(config).then(() => undefined, (err: unknown) => err);
      expect(failure).toBeInstanceOf(ClusterConfigError);
      expect(String((failure as Error).message)).toMatch(message);
      expect(cm.names()).toEqual([]);
    });
  }

  it('keeps the previous version of a cluster when an update is invalid', async () => {
    fresh();
    await cm.addOrUpdate(staticCluster('keep', [backends[0]!.port]));
    await expect(cm.addOrUpdate(staticCluster('keep', [backends[1]!.port], { lb_policy: 'MAGLEV' }))).rejects.toThrow(/MAGLEV/);
    expect((await send(cm.get('keep')!)).body).toBe('a GET /');
  });
});
