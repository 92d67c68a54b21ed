// A real proxy under a burst of successful requests: /isthmus/trace keeps a per-second sample of them, but
// every failed request and every request marked by `isthmus trace` (x-isthmus-trace) whatever the load.
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TRACE_SUCCESSES_PER_SECOND, TRACE_HEADER } from '../../../src/proxy/trace/index.js';
import { startHcmFixture } from '../../security/hcm-fixture.js';
import type { HcmFixture } from '../../security/hcm-fixture.js';

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { host: 'app.test', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('trace sampling', () => {
  let fx: HcmFixture;
  beforeAll(async () => {
    fx = await startHcmFixture([{
      name: 'edge',
      hcm: { route_config: { name: 'edge', virtual_hosts: [{ name: 'app', domains: ['*'], routes: [{ match: { prefix: '/ok' }, route: { cluster: 'app' } }] }] } },
    }]);
  });
  afterAll(async () => {
    agent.destroy();
    await fx?.stop();
  });

  it('samples successes per second and keeps failures and marked requests', async () => {
    const port = fx.ports['edge']!;
    const burst = 5 * DEFAULT_TRACE_SUCCESSES_PER_SECOND;
    const start = Date.now();
    const statuses = await Promise.all(Array.from({ length: burst }, (_, i) => get(port, `/ok/${i}`)));
    const seconds = Math.floor(Date.now() / 1000) - Math.floor(start / 1000) + 1;
    expect(statuses.every((s) => s === 200)).toBe(true);
    // Over the budget now: a marked success and an unrouted request (404) are still recorded.
    expect(await get(port, '/ok/marked', { 'x-request-id': 'traced-1', [TRACE_HEADER]: '1' })).toBe(200);
    expect(await get(port, '/missing', { 'x-request-id': 'failed-1' })).toBe(404);

    // What GET /isthmus/trace serves.
    const entries = fx.proxy.trace.query({ kind: 'http' });
    const successes = entries.filter((e) => e.path?.startsWith('/ok/') && e.path !== '/ok/marked');
    expect(successes.length).toBeGreaterThan(0);
    expect(successes.length).toBeLessThanOrEqual(DEFAULT_TRACE_SUCCESSES_PER_SECOND * seconds);
    expect(fx.proxy.trace.sampledOut).toBeGreaterThanOrEqual(burst - DEFAULT_TRACE_SUCCESSES_PER_SECOND * seconds);
    expect(entries.find((e) => e.requestId === 'traced-1')?.responseCode).toBe(200);
    expect(entries.find((e) => e.requestId === 'failed-1')?.responseCode).toBe(404);
  });
});
