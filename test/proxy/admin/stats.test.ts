// /stats and /stats/prometheus over real HTTP, fed by a live StatsStore.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../helpers/index.js';
import { startFixtureAdmin } from './admin-fixture.js';
import type { RunningAdmin } from './admin-fixture.js';

let fixture: RunningAdmin;
beforeAll(async () => {
  fixture = await startFixtureAdmin();
  const { stats } = fixture;
  stats.counter('cluster.web.upstream_rq_total').inc(12);
  stats.counter('cluster.api.upstream_rq_total').inc(3);
  stats.counter('cluster.web.upstream_rq_200').inc(10);
  stats.counter('cluster.web.upstream_rq_503').inc(2);
  stats.counter('http.ingress_http.downstream_rq_2xx').inc(10);
  stats.counter('http.ingress_http.downstream_rq_5xx').inc(2);
  stats.counter('listener.0.0.0.0_8443.downstream_cx_total').inc(4);
  stats.counter('listener.admin.downstream_cx_total').inc(1);
  stats.counter('tcp.passthrough-sni.downstream_cx_total');
  stats.gauge('cluster.web.upstream_cx_active').set(3);
  stats.gauge('server.live').set(1);
  stats.gauge('server.memory-heap.size').set(-5);
});
afterAll(async () => {
  await fixture.admin.close();
});

const body = async (path: string) => {
  const res = await fetch(fixture.url(path));
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

describe('/stats', () => {
  it('lists every counter and gauge as "name: value", sorted by name', async () => {
    const { status, text } = await body('/stats');
    expect(status).toBe(200);
    const lines = text.trimEnd().split('\n');
    expect(lines).toContain('cluster.web.upstream_rq_total: 12');
    expect(lines).toContain('cluster.web.upstream_cx_active: 3');
    expect(lines).toContain('server.memory-heap.size: -5');
    expect(lines).toStrictEqual([...lines].sort());
    expect(lines.every((l) => /^[^:\s]+: -?\d+$/.test(l))).toBe(true);
  });

  it('filters with ?filter=<regex> (partial match) and rejects a bad regex', async () => {
    expect((await body('/stats?filter=^cluster\\.web\\.')).text).toBe(
      'cluster.web.upstream_cx_active: 3\ncluster.web.upstream_rq_200: 10\ncluster.web.upstream_rq_503: 2\ncluster.web.upstream_rq_total: 12\n',
    );
    expect((await body('/stats?filter=rq_5')).text).toBe('cluster.web.upstream_rq_503: 2\nhttp.ingress_http.downstream_rq_5xx: 2\n');
    const bad = await body('/stats?filter=(');
    expect(bad.status).toBe(400);
  });

  it('answers ?format=json as {"stats":[{name,value}]}, with ?type= and ?usedonly', async () => {
    const res = await body('/stats?format=json&filter=^server\\.');
    expect(res.type).toBe('application/json');
    expect(JSON.parse(res.text)).toStrictEqual({ stats: [{ name: 'server.live', value: 1 }, { name: 'server.memory-heap.size', value: -5 }] });
    const gauges = JSON.parse((await body('/stats?format=json&type=Gauges')).text) as { stats: Array<{ name: string }> };
    expect(gauges.stats.map((s) => s.name)).toStrictEqual(['cluster.web.upstream_cx_active', 'server.live', 'server.memory-heap.size']);
    expect((await body('/stats?usedonly&filter=^tcp')).text).toBe('');
    expect((await body('/stats?filter=^tcp')).text).toBe('tcp.passthrough-sni.downstream_cx_total: 0\n');
    expect((await body('/stats?format=html')).status).toBe(400);
  });

  it('shows counters as they change', async () => {
    const counter = fixture.stats.counter('cluster.web.upstream_cx_total');
    counter.inc(5);
    expect((await body('/stats?filter=upstream_cx_total')).text).toBe('cluster.web.upstream_cx_total: 5\n');
    counter.inc();
    expect((await body('/stats?filter=upstream_cx_total')).text).toBe('cluster.web.upstream_cx_total: 6\n');
  });
});

/** Parses the Prometheus text exposition format strictly; throws on any line it does not accept. */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Array<{ name: string; labels: Record<string, string>; value: number }> } {
  const types = new Map<string, string>();
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      expect(types.has(type[1] as string)).toBe(false);
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/.exec(line);
    if (!sample) throw new Error(`not a Prometheus exposition line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const labelText = sample[2] as string;
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
    let consumed = 0;
    for (const m of labelText.matchAll(labelRe)) {
      labels[m[1] as string] = m[2] as string;
      consumed += m[0].length;
    }
    expect(consumed).toBe(labelText.length);
    // Every sample belongs to a metric whose TYPE came first.
    expect(types.has(sample[1] as string)).toBe(true);
    samples.push({ name: sample[1] as string, labels, value: Number(sample[3]) });
  }
  return { types, samples };
}

describe('/stats/prometheus', () => {
  it('is valid exposition text with TYPE lines for counters and gauges', async () => {
    const res = await body('/stats/prometheus');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const { types, samples } = parsePrometheus(res.text);
    expect(types.get('envoy_cluster_upstream_rq_total')).toBe('counter');
    expect(types.get('envoy_cluster_upstream_cx_active')).toBe('gauge');
    expect(types.get('envoy_server_live')).toBe('gauge');
    expect(samples.length).toBeGreaterThanOrEqual(12);
  });

  it('turns Envoy stat names into tagged metrics', async () => {
    const { text } = await body('/stats/prometheus');
    const lines = text.split('\n');
    expect(lines).toContain('envoy_cluster_upstream_rq_total{envoy_cluster_name="api"} 3');
    expect(lines).toContain('envoy_cluster_upstream_rq_total{envoy_cluster_name="web"} 12');
    expect(lines).toContain('envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="web"} 10');
    expect(lines).toContain('envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress_http"} 10');
    expect(lines).toContain('envoy_http_downstream_rq_xx{envoy_response_code_class="5",envoy_http_conn_manager_prefix="ingress_http"} 2');
    expect(lines).toContain('envoy_listener_downstream_cx_total{envoy_listener_address="0.0.0.0_8443"} 4');
    expect(lines).toContain('envoy_listener_admin_downstream_cx_total{} 1');
    expect(lines).toContain('envoy_tcp_downstream_cx_total{envoy_tcp_prefix="passthrough-sni"} 0');
    expect(lines).toContain('envoy_server_memory_heap_size{} -5');
    // One group per metric: its TYPE line, then all its series.
    const group = lines.indexOf('# TYPE envoy_http_downstream_rq_xx counter');
    expect(lines.slice(group + 1, group + 3).every((l) => l.startsWith('envoy_http_downstream_rq_xx{'))).toBe(true);
    // Counters come before gauges, as in Envoy.
    expect(lines.findIndex((l) => l.endsWith(' gauge'))).toBeGreaterThan(lines.findLastIndex((l) => l.endsWith(' counter')));
  });

  it('shows counter updates and honours ?filter=, fetched with curl as Prometheus would', async () => {
    fixture.stats.counter('cluster.api.upstream_rq_total').inc(4);
    const result = await run('curl', ['-sS', fixture.url('/stats/prometheus?filter=cluster\\.api\\.')]);
    expect(result.stdout).toBe('# TYPE envoy_cluster_upstream_rq_total counter\nenvoy_cluster_upstream_rq_total{envoy_cluster_name="api"} 7\n\n');
  });

  it('answers /stats?format=prometheus the same way', async () => {
    expect((await body('/stats?format=prometheus')).text).toBe((await body('/stats/prometheus')).text);
  });
});
