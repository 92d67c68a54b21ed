import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, run } from '../helpers/index.js';
import { startProxy } from './helpers/proxy-process.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

const config = (extraHcm: string, upstreamPort = 1) => `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: http
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": ${HCM}
          stat_prefix: test
${extraHcm}
          route_config: { virtual_hosts: [ { name: all, domains: ["*"], routes: [ { match: { prefix: / }, route: { cluster: up } } ] } ] }
          http_filters: [ { name: envoy.filters.http.router } ]
  clusters:
  - name: up
    type: STATIC
    load_assignment: { cluster_name: up, endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${upstreamPort} } } } } ] } ] }
`;

describe('isthmus proxy as a process', () => {
  let dir: string;
  let slow: Server;
  let slowPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-proxy-cli-'));
    slow = createServer((_req, res) => setTimeout(() => res.end('finished'), 800));
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    slowPort = (slow.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise((r) => slow.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('an unsupported field stops start-up, naming its exact path', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, config('          tracing: { provider: { name: envoy.tracers.zipkin } }'));
    const res = await run('node', [CLI, 'proxy', '-c', file]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('static_resources.listeners[0].filter_chains[0].filters[0].typed_config.tracing: unsupported field "tracing" in HttpConnectionManager');
    expect(res.stderr).toContain('fix:');
  });

  it('an unsupported HTTP filter is named with its path; --mode validate accepts a good config', async () => {
    const file = join(dir, 'filter.yaml');
    writeFileSync(file, config('').replace('http_filters: [ { name: envoy.filters.http.router } ]', 'http_filters: [ { name: envoy.filters.http.lua }, { name: envoy.filters.http.router } ]'));
    const bad = await run('node', [CLI, 'proxy', '-c', file]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('http_filters[0].typed_config: extension "envoy.filters.http.lua" has no typed_config and is not a known extension name');
    const good = join(dir, 'good.yaml');
    writeFileSync(good, config(''));
    const ok = await run('node', [CLI, 'proxy', '-c', good, '--mode', 'validate']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('OK');
  });

  it('SIGTERM drains: an in-flight request completes, new connections are refused, exit 0', async () => {
    const proxy = await startProxy(dir, 'drain', config('', slowPort));
    const port = proxy.listenerPort('http');
    const inflight = request(`http://127.0.0.1:${port}/`).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
    await new Promise((r) => setTimeout(r, 200));
    const exited = proxy.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.on('connect', () => { s.destroy(); resolve(false); });
      s.on('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    expect(await inflight).toEqual({ status: 200, body: 'finished' });
    expect(await exited).toBe(0);
  });
});
