// close() must leave nothing behind: no sockets, sessions or timers that keep a process alive.
import { constants, createServer as createH2Server } from 'node:http2';
import type { Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, run, tempDir } from '../../helpers/index.js';
import type { Backend } from './fixtures.js';
import { eventually, httpBackend, lbEndpoint, manager, send, staticCluster } from './fixtures.js';

let h1: Backend;
let h2Port = 0;
const h2Sessions = new Set<Http2Session>();
let h2Total = 0;
const h2 = createH2Server();
let work: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  h1 = await httpBackend('h1');
  h2.on('session', (s: Http2Session) => {
    h2Total++;
    h2Sessions.add(s);
    s.once('close', () => h2Sessions.delete(s));
  });
  h2.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end('h2');
  });
  await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
  h2Port = (h2.address() as AddressInfo).port;
  work = await tempDir('upstream-exit');
});
afterAll(async () => {
  await h1?.close();
  for (const s of h2Sessions) s.destroy();
  await new Promise<void>((resolve) => h2.close(() => resolve()));
  await work?.cleanup();
});

function openSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap').length;
}

describe('close()', () => {
  it('closes keep-alive connections and HTTP/2 sessions the servers still hold open', async () => {
    const before = openSockets();
    const { cm } = manager();
    await cm.addOrUpdate(staticCluster('h1', [h1.port]));
    await cm.addOrUpdate(staticCluster('h2', [h2Port], { http2_protocol_options: {} }));
    await cm.addOrUpdate({
      name: 'dns',
      type: 'STRICT_DNS',
      dns_lookup_family: 'V4_ONLY',
      dns_refresh_rate: '0.05s',
      load_assignment: { endpoints: [{ lb_endpoints: [lbEndpoint('localhost', h1.port)] }] },
    });
    expect((await send(cm.get('h1')!)).body).toBe('h1 GET /');
    expect((await send(cm.get('h2')!)).body).toBe('h2');
    expect((await send(cm.get('dns')!)).body).toBe('h1 GET /');
    expect(h1.sockets.size).toBe(2);
    expect(h2Sessions.size).toBe(1);
    expect(openSockets()).toBeGreaterThan(before);

    await cm.close();
    await eventually(() => h1.sockets.size === 0 && h2Sessions.size === 0);
    await eventually(() => openSockets() === before);
    expect(cm.names()).toEqual([]);
    await expect(cm.addOrUpdate(staticCluster('late', [h1.port]))).rejects.toThrow(/closed/);
  });

  it('stops re-resolving a STRICT_DNS cluster', async () => {
    const { cm, stat } = manager();
    await cm.addOrUpdate({
      name: 'refresh',
      type: 'STRICT_DNS',
      dns_lookup_family: 'V4_ONLY',
      dns_refresh_rate: '0.02s',
      load_assignment: { endpoints: [{ lb_endpoints: [lbEndpoint('localhost', h1.port)] }] },
    });
    const cluster = cm.get('refresh')!;
    const host = cluster.hosts()[0]!;
    await cm.close();
    // Had the refresher kept running, the next round would rebuild membership; closed, nothing changes.
    await new Promise((r) => setTimeout(r, 100));
    expect(cluster.hosts()[0]).toBe(host);
    expect(stat('cluster.refresh.membership_total')).toBe(1);
  });

  it('resolves and lets a process that used HTTP/1.1, HTTP/2 and DNS clusters exit on its own', async () => {
    const script = join(work.dir, 'exit.mjs');
    const dist = (p: string) => pathToFileURL(join(PROJECT_ROOT, 'dist', p)).href;
    await writeFile(script, `
      import { createClusterManager } from ${JSON.stringify(dist('proxy/upstream/index.js'))};
      import { StatsStore } from ${JSON.stringify(dist('proxy/stats.js'))};
      const [h1Port, h2Port] = process.argv.slice(2);
      const cm = createClusterManager({ stats: new StatsStore(), baseDir: process.cwd() });
      const ep = (address, port) => ({ endpoint: { address: { socket_address: { address, port_value: Number(port) } } } });
      await cm.addOrUpdate({ name: 'h1', load_assignment: { endpoints: [{ lb_endpoints: [ep('127.0.0.1', h1Port)] }] } });
      await cm.addOrUpdate({ name: 'h2', http2_protocol_options: {}, load_assignment: { endpoints: [{ lb_endpoints: [ep('127.0.0.1', h2Port)] }] } });
      await cm.addOrUpdate({ name: 'dns', type: 'STRICT_DNS', dns_lookup_family: 'V4_ONLY', load_assignment: { endpoints: [{ lb_endpoints: [ep('localhost', h1Port)] }] } });
      for (const name of ['h1', 'h2', 'dns']) {
        const c = cm.get(name);
        const r = await c.httpRequest({ method: 'GET', path: '/', authority: 'x', headers: {}, body: null }, c.chooseHost());
        for await (const _ of r.body) {}
      }
      await cm.close();
      console.log('closed');
    `);
    // A close() that hung, or left a ref'd socket or timer, would get the child killed at the timeout.
    const result = await run(process.execPath, [script, String(h1.port), String(h2Port)], { timeoutMs: 5_000 });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('closed');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
  });
});

describe('an idle HTTP/2 session that receives GOAWAY', () => {
  it('is closed right away, and the next request opens a new session', async () => {
    const { cm, stat } = manager();
    await cm.addOrUpdate(staticCluster('bye', [h2Port], { http2_protocol_options: {} }));
    const cluster = cm.get('bye')!;
    expect((await send(cluster)).body).toBe('h2');
    const before = h2Total;
    for (const s of h2Sessions) s.goaway(constants.NGHTTP2_NO_ERROR);
    await eventually(() => stat('cluster.bye.upstream_cx_active') === 0);
    expect(stat('cluster.bye.upstream_cx_destroy')).toBe(1);
    expect((await send(cluster)).body).toBe('h2');
    expect(h2Total).toBe(before + 1);
    await cm.close();
  });
});
