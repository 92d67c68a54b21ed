import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyServer } from '../../src/proxy/index.js';
import { WorkerFanout, aggregateSamples } from '../../src/proxy/concurrency/index.js';
import type { ApplyReply, FanoutWorker, ResourceKind } from '../../src/proxy/concurrency/index.js';

/**
 * The --concurrency primary's pieces without processes: stats summed over workers with Envoy's per-worker
 * listener stats, and the xDS fan-out applied to real proxy servers (in one process here, so two of them
 * cannot bind the same port: the second one's refusal must turn the whole update into a NACK).
 */

describe('aggregateSamples', () => {
  it('sums counters and gauges over workers and keeps per-worker listener connection stats', () => {
    const samples = aggregateSamples([
      { worker: 0, samples: [{ name: 'listener.0.0.0.0_80.downstream_cx_total', type: 'counter', value: 3 }, { name: 'http.in.downstream_rq_2xx', type: 'counter', value: 5 }, { name: 'listener.0.0.0.0_80.downstream_cx_active', type: 'gauge', value: 1 }] },
      { worker: 1, samples: [{ name: 'listener.0.0.0.0_80.downstream_cx_total', type: 'counter', value: 4 }, { name: 'http.in.downstream_rq_2xx', type: 'counter', value: 6 }] },
    ]);
    expect(Object.fromEntries(samples.map((s) => [s.name, s.value]))).toEqual({
      'http.in.downstream_rq_2xx': 11,
      'listener.0.0.0.0_80.downstream_cx_active': 1,
      'listener.0.0.0.0_80.downstream_cx_total': 7,
      'listener.0.0.0.0_80.worker_0.downstream_cx_active': 1,
      'listener.0.0.0.0_80.worker_0.downstream_cx_total': 3,
      'listener.0.0.0.0_80.worker_1.downstream_cx_total': 4,
    });
    expect(samples.map((s) => s.name)).toEqual([...samples.map((s) => s.name)].sort());
  });
});

/** A proxy server in this process, driven the way a worker drives its own. */
async function inProcessWorker(index: number): Promise<{ worker: FanoutWorker; server: ProxyServer }> {
  const server = await ProxyServer.create({ bootstrap: {}, baseDir: process.cwd(), source: 'test' }, { role: 'worker', drainTimeMs: 0 });
  const worker: FanoutWorker = {
    index,
    async apply(type: ResourceKind, resources: readonly unknown[], version: string): Promise<ApplyReply> {
      const d = server.dynamic;
      const r = type === 'clusters' ? await d.applyClusters(resources, version) : type === 'listeners' ? await d.applyListeners(resources, version)
        : type === 'endpoints' ? d.applyEndpoints(resources) : type === 'routes' ? d.applyRoutes(resources, version) : d.applySecrets(resources, version);
      return { ...(r.error ? { error: r.error } : {}), names: { eds: d.edsResourceNames(), rds: d.rdsResourceNames(), sds: d.sdsResourceNames() } };
    },
  };
  return { worker, server };
}

const edsCluster = { name: 'outbound|80||app.ns', type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: { ads: {} }, service_name: 'outbound|80||app.ns' } };
const tcpListener = (port: number) => ({
  name: 'tcp',
  address: { socket_address: { address: '127.0.0.1', port_value: port } },
  filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'tcp', cluster: edsCluster.name } }] }],
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

describe('WorkerFanout', () => {
  const servers: ProxyServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop(0)));
  });

  it('ACKs what every worker accepted, takes the names to subscribe from them, and NACKs when one worker refuses', async () => {
    const a = await inProcessWorker(0);
    const b = await inProcessWorker(1);
    servers.push(a.server, b.server);
    const fanout = new WorkerFanout(() => [a.worker, b.worker]);
    expect(await fanout.applyClusters([edsCluster], 'v1')).toEqual({});
    expect(fanout.edsResourceNames()).toEqual([edsCluster.name]);
    expect(a.server.clusters.get(edsCluster.name)).toBeDefined();
    expect(b.server.clusters.get(edsCluster.name)).toBeDefined();

    // Same port twice in one process: worker 1 cannot bind it, so the update is refused as a whole.
    const port = await freePort();
    const result = await fanout.applyListeners([tcpListener(port)], 'v1');
    expect(result.error).toMatch(/listener tcp/);
    expect(result.error).toMatch(/EADDRINUSE/);
  });

  it('replays the accepted config to a worker that joins later, which becomes live in the same turn', async () => {
    const a = await inProcessWorker(0);
    servers.push(a.server);
    const live = [a.worker];
    const fanout = new WorkerFanout(() => live);
    await fanout.applyClusters([edsCluster], 'v1');
    await fanout.applyEndpoints([{ cluster_name: edsCluster.name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9 } } } }] }] }]);
    const late = await inProcessWorker(1);
    servers.push(late.server);
    await fanout.join(late.worker, () => live.push(late.worker));
    expect(live).toHaveLength(2);
    expect(late.server.clusters.get(edsCluster.name)?.hosts().map((h) => h.id)).toEqual(['127.0.0.1:9']);
  });
});
