// The admin server over real HTTP: readiness, health check override, quit, routing errors, close().
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../../src/envoy/index.js';
import { createAccessLoggers } from '../../../src/proxy/access-log/index.js';
import { startAdminServer } from '../../../src/proxy/admin/index.js';
import { StatsStore } from '../../../src/proxy/stats.js';
import { run, tempDir } from '../../helpers/index.js';
import { startFixtureAdmin } from './admin-fixture.js';
import type { RunningAdmin } from './admin-fixture.js';

let fixture: RunningAdmin;
beforeAll(async () => {
  fixture = await startFixtureAdmin();
});
afterAll(async () => {
  await fixture.admin.close();
});

const get = (path: string) => fetch(fixture.url(path));
const post = (path: string) => fetch(fixture.url(path), { method: 'POST' });

describe('/ready and health checks', () => {
  it('answers LIVE with 200 when ready and PRE_INITIALIZING with 503 when not', async () => {
    const live = await get('/ready');
    expect(live.status).toBe(200);
    expect(live.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await live.text()).toBe('LIVE\n');
    fixture.ready = false;
    try {
      const starting = await get('/ready');
      expect(starting.status).toBe(503);
      expect(await starting.text()).toBe('PRE_INITIALIZING\n');
    } finally {
      fixture.ready = true;
    }
  });

  it('fails /ready with DRAINING after POST /healthcheck/fail, and recovers after /healthcheck/ok', async () => {
    const fail = await post('/healthcheck/fail');
    expect([fail.status, await fail.text()]).toStrictEqual([200, 'OK\n']);
    const draining = await get('/ready');
    expect([draining.status, await draining.text()]).toStrictEqual([503, 'DRAINING\n']);
    const info = (await (await get('/server_info')).json()) as { state: string };
    expect(info.state).toBe('DRAINING');
    const ok = await post('/healthcheck/ok');
    expect(ok.status).toBe(200);
    const live = await get('/ready');
    expect([live.status, await live.text()]).toStrictEqual([200, 'LIVE\n']);
  });

  it('refuses GET on mutating endpoints with 405, without effect', async () => {
    for (const path of ['/healthcheck/fail', '/healthcheck/ok', '/quitquitquit']) {
      const res = await get(path);
      expect(res.status).toBe(405);
      expect(await res.text()).toBe('Method GET not allowed, POST required.\n');
    }
    expect((await get('/ready')).status).toBe(200);
    expect(fixture.quits).toBe(0);
  });

  it('uses the owner\'s state when given', async () => {
    const admin = await startAdminServer({ ...baseOptions(), isReady: () => false, state: () => 'INITIALIZING' });
    try {
      const res = await fetch(`http://127.0.0.1:${admin.port}/ready`);
      expect([res.status, await res.text()]).toStrictEqual([503, 'INITIALIZING\n']);
    } finally {
      await admin.close();
    }
  });
});

describe('/server_info', () => {
  it('has Envoy\'s ServerInfo fields with the owner\'s version, node and options', async () => {
    const res = await get('/server_info');
    expect(res.headers.get('content-type')).toBe('application/json');
    const info = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(info)).toStrictEqual(['version', 'state', 'hot_restart_version', 'command_line_options', 'node', 'uptime_current_epoch', 'uptime_all_epochs']);
    expect(info).toMatchObject({
      version: 'isthmus/0.1.0',
      state: 'LIVE',
      hot_restart_version: 'disabled',
      command_line_options: { config_path: '/etc/isthmus/bootstrap.yaml' },
      node: { cluster: 'gateway' },
    });
    expect(info.uptime_current_epoch).toMatch(/^\d+s$/);
  });
});

describe('/quitquitquit', () => {
  it('answers OK, then calls onQuit', async () => {
    const res = await post('/quitquitquit');
    expect([res.status, await res.text()]).toStrictEqual([200, 'OK\n']);
    await new Promise((r) => setTimeout(r, 20));
    expect(fixture.quits).toBe(1);
    fixture.quits = 0;
  });
});

describe('routing', () => {
  it('answers an unknown path with 404 and the list of admin commands', async () => {
    const res = await get('/no/such/endpoint');
    expect(res.status).toBe(404);
    const body = await res.text();
    expect(body.startsWith('invalid path. admin commands are:\n')).toBe(true);
    for (const path of ['/clusters', '/config_dump', '/healthcheck/fail', '/listeners', '/ready', '/server_info', '/stats', '/stats/prometheus', '/quitquitquit']) {
      expect(body).toContain(`\n  ${path}: `);
    }
  });

  it('lists the commands on / and /help, and matches paths exactly', async () => {
    for (const path of ['/', '/help']) {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^admin commands are:\n {2}\/: Admin home page\n {2}\/clusters: upstream cluster status\n/);
    }
    expect((await get('/ready/')).status).toBe(404);
    expect((await get('/readyz')).status).toBe(404);
    expect((await get('//ready')).status).toBe(404);
  });

  it('is answered by curl as a user would call it', async () => {
    const result = await run('curl', ['-sS', '-X', 'POST', '-w', ' %{http_code}', fixture.url('/healthcheck/ok')]);
    expect(result.stdout).toBe('OK\n 200');
  });
});

describe('/memory', () => {
  it("answers Envoy's Memory message: uint64 strings, the JS heap as allocated/heap_size, RSS as total_physical_bytes", async () => {
    const res = await get('/memory');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(['allocated', 'heap_size', 'pageheap_free', 'pageheap_unmapped', 'total_physical_bytes', 'total_thread_cache']);
    for (const value of Object.values(body)) expect(value).toMatch(/^\d+$/);
    const [allocated, heap, rss] = [body.allocated, body.heap_size, body.total_physical_bytes].map(Number) as [number, number, number];
    expect(allocated).toBeGreaterThan(0);
    expect(allocated).toBeLessThanOrEqual(heap);
    expect(rss).toBeGreaterThan(allocated);
  });
});

describe('lifecycle', () => {
  it('frees the port on close(), even with a keep-alive connection open', async () => {
    const admin = await startAdminServer(baseOptions());
    const res = await fetch(`http://127.0.0.1:${admin.port}/ready`);
    expect(res.status).toBe(200);
    await res.text(); // the connection stays in undici's keep-alive pool
    await admin.close();
    await admin.close(); // idempotent
    await expect(fetch(`http://127.0.0.1:${admin.port}/ready`)).rejects.toThrow();
    const reuse = createServer();
    await new Promise<void>((resolve, reject) => reuse.once('error', reject).listen(admin.port, '127.0.0.1', () => resolve()));
    await new Promise<void>((resolve) => reuse.close(() => resolve()));
  });

  it('fails to start with ERR_ADMIN_LISTEN on a port in use', async () => {
    await expect(startAdminServer({ ...baseOptions(), port: fixture.admin.port })).rejects.toMatchObject({ code: 'ERR_ADMIN_LISTEN' });
  });

  it('logs admin requests to its access log', async () => {
    const work = await tempDir('admin-log');
    try {
      const path = join(work.dir, 'admin.log');
      const [accessLog] = createAccessLoggers(
        [{ name: 'envoy.access_loggers.file', typed_config: { '@type': TYPE_URL.fileAccessLog, path, log_format: { text_format: '%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% %BYTES_SENT% %RESP(CONTENT-TYPE)% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%\n' } } }],
        work.dir,
      );
      const admin = await startAdminServer({ ...baseOptions(), ...(accessLog ? { accessLog } : {}) });
      await (await fetch(`http://127.0.0.1:${admin.port}/ready?x=1`)).text();
      await (await fetch(`http://127.0.0.1:${admin.port}/nope`)).text();
      await admin.close();
      await accessLog?.close();
      const lines = (await readFile(path, 'utf8')).trim().split('\n');
      expect(lines[0]).toBe('GET /ready?x=1 HTTP/1.1 200 admin_filter_response 5 text/plain; charset=UTF-8 127.0.0.1');
      expect(lines[1]).toMatch(/^GET \/nope HTTP\/1\.1 404 admin_filter_response \d+ text\/plain; charset=UTF-8 127\.0\.0\.1$/);
    } finally {
      await work.cleanup();
    }
  });
});

function baseOptions() {
  return {
    host: '127.0.0.1',
    port: 0,
    stats: new StatsStore(),
    serverInfo: () => ({}),
    configDump: () => ({ configs: [] }),
    clusters: () => [],
    listeners: () => [],
    isReady: () => true,
  };
}
