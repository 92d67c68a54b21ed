/**
 * Connection limits, as Envoy's edge guidance configures them: envoy.filters.network.connection_limit per
 * filter chain (max_connections, delay) and the overload manager's global_downstream_max_connections
 * across listeners (ignore_global_conn_limit exempts one). Over a limit a new connection is closed
 * without an answer and counted; connections already open keep being served.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBootstrapFile } from '../../src/envoy/index.js';
import { ProxyServer } from '../../src/proxy/index.js';
import { hcmFilter, startH2Fixture, until } from './h2-fixture.js';
import type { H2Fixture } from './h2-fixture.js';

const CONNECTION_LIMIT = 'type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit';
const DOWNSTREAM_CONNECTIONS = 'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig';

function limitFilter(statPrefix: string, max: number, delay?: string): Record<string, unknown> {
  return { name: 'envoy.filters.network.connection_limit', typed_config: { '@type': CONNECTION_LIMIT, stat_prefix: statPrefix, max_connections: max, ...(delay ? { delay } : {}) } };
}

/** A keep-alive HTTP/1.1 client connection: send GETs one at a time, or see it closed unanswered. */
class KeepAlive {
  private received = '';
  private waiter: (() => void) | undefined;
  readonly closed: Promise<void>;
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.received += d.toString('latin1');
      this.waiter?.();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.waiter?.();
      resolve();
    }));
  }

  static async open(port: number): Promise<KeepAlive> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new KeepAlive(socket);
  }

  /** Status of one GET, or 0 when the proxy closed the connection without answering. */
  async get(): Promise<number> {
    this.received = '';
    if (this.socket.destroyed) return 0;
    this.socket.write('GET / HTTP/1.1\r\nhost: app.test\r\n\r\n');
    while (!/\r\n\r\nok$/.test(this.received) && !this.socket.destroyed) await new Promise<void>((r) => (this.waiter = r));
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(this.received)?.[1] ?? 0);
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('connection limits: per filter chain and global', () => {
  let fx: H2Fixture;
  beforeAll(async () => {
    fx = await startH2Fixture([
      { name: 'limited', filters: [limitFilter('edge_limit', 2)] },
      { name: 'delayed', filters: [limitFilter('delayed_limit', 1, '0.2s')] },
      { name: 'a' },
      { name: 'b' },
      { name: 'exempt', listener: { ignore_global_conn_limit: true } },
    ], {
      overload_manager: {
        resource_monitors: [{ name: 'envoy.resource_monitors.global_downstream_max_connections', typed_config: { '@type': DOWNSTREAM_CONNECTIONS, max_active_downstream_connections: 6 } }],
      },
    });
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('connection_limit: the third connection over max_connections 2 is closed unanswered; the first two are served', async () => {
    const first = await KeepAlive.open(fx.port('limited'));
    const second = await KeepAlive.open(fx.port('limited'));
    expect(await first.get()).toBe(200);
    expect(await second.get()).toBe(200);
    const third = await KeepAlive.open(fx.port('limited'));
    expect(await third.get()).toBe(0);
    await third.closed;
    expect(fx.stat('connection_limit.edge_limit.limited_connections')).toBe(1);
    expect(fx.stat('connection_limit.edge_limit.active_connections')).toBe(2);
    expect(await first.get()).toBe(200);
    expect(await second.get()).toBe(200);
    // A slot frees when a connection ends.
    first.close();
    await until(() => fx.stat('connection_limit.edge_limit.active_connections'), (n) => n === 1, 'active connections');
    const fourth = await KeepAlive.open(fx.port('limited'));
    expect(await fourth.get()).toBe(200);
    second.close();
    fourth.close();
  });

  it('connection_limit with delay: the refused connection is held, then closed without an answer', async () => {
    const holder = await KeepAlive.open(fx.port('delayed'));
    expect(await holder.get()).toBe(200);
    const refused = await KeepAlive.open(fx.port('delayed'));
    const status = await refused.get();
    await refused.closed;
    expect(status).toBe(0);
    expect(fx.stat('connection_limit.delayed_limit.limited_connections')).toBe(1);
    expect(await holder.get()).toBe(200);
    holder.close();
  });

  it('global_downstream_max_connections counts across listeners; ignore_global_conn_limit exempts one', async () => {
    // The earlier tests' connections are closed; wait until the proxy has released them.
    await until(() => fx.stat('connection_limit.edge_limit.active_connections') + fx.stat('connection_limit.delayed_limit.active_connections'), (n) => n === 0, 'open connections');
    const open: KeepAlive[] = [];
    for (const listener of ['a', 'a', 'a', 'b', 'b', 'b']) {
      const conn = await KeepAlive.open(fx.port(listener));
      expect(await conn.get()).toBe(200);
      open.push(conn);
    }
    for (const listener of ['a', 'b']) {
      const over = await KeepAlive.open(fx.port(listener));
      expect(await over.get()).toBe(0);
      await over.closed;
    }
    const overflow = (listener: string) => fx.stat(`listener.127.0.0.1_${fx.port(listener)}.downstream_global_cx_overflow`);
    expect(overflow('a')).toBe(1);
    expect(overflow('b')).toBe(1);
    const exempt = await KeepAlive.open(fx.port('exempt'));
    expect(await exempt.get()).toBe(200);
    for (const conn of open) expect(await conn.get()).toBe(200);
    // Closing one frees a slot (the last connection was on listener b).
    open.pop()?.close();
    await until(() => fx.stat(`listener.127.0.0.1_${fx.port('b')}.downstream_cx_active`), (n) => n === 2, 'connection released');
    const after = await KeepAlive.open(fx.port('a'));
    expect(await after.get()).toBe(200);
    after.close();
    exempt.close();
    for (const conn of open) conn.close();
  });
});

describe('connection limit config errors name the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-limits-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function create(bootstrap: Record<string, unknown>): Promise<string> {
    const file = join(dir, `${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ node: { id: 'x' }, ...bootstrap }));
    try {
      const proxy = await ProxyServer.create(await loadBootstrapFile(file));
      await proxy.stop(0);
      return 'created';
    } catch (err) {
      return (err as Error).message;
    }
  }

  it('an overload_manager monitor other than global_downstream_max_connections', async () => {
    const message = await create({
      overload_manager: { resource_monitors: [{ name: 'envoy.resource_monitors.fixed_heap', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig', max_heap_size_bytes: 1 } }] },
    });
    expect(message).toContain('overload_manager.resource_monitors[0]');
  });

  it('connection_limit without max_connections, and with 0', async () => {
    const listener = (typed: Record<string, unknown>) => ({
      static_resources: {
        listeners: [{ name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.connection_limit', typed_config: { '@type': CONNECTION_LIMIT, stat_prefix: 'x', ...typed } }, hcmFilter('l')] }] }],
      },
    });
    expect(await create(listener({}))).toMatch(/filters\[0\]\.typed_config.*max_connections/);
    expect(await create(listener({ max_connections: 0 }))).toMatch(/filters\[0\]\.typed_config\.max_connections: must be at least 1/);
  });
});
