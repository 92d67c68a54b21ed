import { describe, expect, it, vi } from 'vitest';
import { TraceRecorder } from '../../../src/proxy/trace/index.js';
import type { TraceEntry } from '../../../src/proxy/trace/index.js';

const entry = (i: number, extra: Partial<TraceEntry> = {}): TraceEntry => ({
  kind: 'http',
  startMs: 1_000 + i,
  durationMs: 1,
  downstreamRemoteAddress: '127.0.0.1:1000',
  downstreamLocalAddress: '127.0.0.1:8080',
  requestId: `id-${i}`,
  responseCode: 200,
  responseFlags: [],
  ...extra,
});

describe('trace recorder', () => {
  it('keeps the last maxEntries entries, oldest first', () => {
    const r = new TraceRecorder({ maxEntries: 3 });
    for (let i = 0; i < 10; i++) r.record(entry(i));
    expect(r.size).toBe(3);
    expect(r.recorded).toBe(10);
    expect(r.query().map((e) => e.requestId)).toEqual(['id-7', 'id-8', 'id-9']);
    expect(r.query({ requestId: 'id-8' })).toHaveLength(1);
    expect(r.query({ requestId: 'id-2' })).toEqual([]);
  });

  it('samples successful HTTP streams per second but keeps every failure and every marked request', () => {
    const r = new TraceRecorder({ maxEntries: 100, successesPerSecond: 3 });
    const now = vi.spyOn(Date, 'now').mockReturnValue(5_000_000);
    try {
      const kept = Array.from({ length: 10 }, () => r.wantsHttp(false, false));
      expect(kept).toEqual([true, true, true, false, false, false, false, false, false, false]);
      expect(r.sampledOut).toBe(7);
      expect(r.wantsHttp(true, false)).toBe(true); // a failure, over the budget
      expect(r.wantsHttp(false, true)).toBe(true); // isthmus trace's request, over the budget
      now.mockReturnValue(5_001_000); // the next second: a fresh budget
      expect(r.wantsHttp(false, false)).toBe(true);
      expect(new TraceRecorder({ maxEntries: 0 }).wantsHttp(true, true)).toBe(false);
    } finally {
      now.mockRestore();
    }
  });

  it('stays under its byte bound, dropping the oldest entries', () => {
    const r = new TraceRecorder({ maxEntries: 1000, maxBytes: 10_000 });
    const big = 'x'.repeat(2_000);
    for (let i = 0; i < 50; i++) r.record(entry(i, { path: `/${big}` }));
    expect(r.bytesHeld).toBeLessThanOrEqual(10_000);
    expect(r.size).toBeGreaterThan(0);
    expect(r.size).toBeLessThan(10);
    expect(r.query().at(-1)?.requestId).toBe('id-49');
    // An entry larger than the whole bound is not kept (and evicts nothing).
    r.record(entry(99, { path: 'y'.repeat(20_000) }));
    expect(r.query().at(-1)?.requestId).toBe('id-49');
  });

  it('filters by time, SNI (downstream or upstream), kind and limit', () => {
    const r = new TraceRecorder();
    r.record(entry(0, { kind: 'listener', downstreamSni: 'a.example', responseFlags: ['NR'] }));
    r.record(entry(10, { upstreamTls: { sni: 'a.example' } }));
    r.record(entry(20, { kind: 'tcp', downstreamSni: 'b.example' }));
    expect(r.query({ sni: 'a.example' }).map((e) => e.startMs)).toEqual([1_000, 1_010]);
    expect(r.query({ sinceMs: 1_005 }).map((e) => e.startMs)).toEqual([1_010, 1_020]);
    expect(r.query({ kind: 'tcp' })).toHaveLength(1);
    expect(r.query({ limit: 1 }).map((e) => e.startMs)).toEqual([1_020]);
  });

  it('records nothing with maxEntries 0', () => {
    const r = new TraceRecorder({ maxEntries: 0 });
    r.record(entry(1));
    expect(r.enabled).toBe(false);
    expect(r.query()).toEqual([]);
  });

  it('builds an HTTP stream\'s entry from its record when read, in the order /isthmus/trace shows', () => {
    const r = new TraceRecorder({ maxEntries: 10 });
    const conn = { remoteAddress: '127.0.0.1', remotePort: 4000, localAddress: '127.0.0.1', localPort: 8080, listenerName: 'http.8080', serverName: 'a.example' };
    const flags: string[] = [];
    r.recordHttp({
      conn, startMs: 5_000, durationMs: 3, requestId: 'rid', authority: 'a.example', path: '/x', method: 'GET',
      routeConfig: 'rc', matched: { virtualHost: { name: 'vh' }, route: { match: { prefix: '/' } } }, cluster: 'c1',
      upstreamHost: '10.0.0.1:80', upstreamTls: { sni: 'up.example' }, responseCode: 200, responseCodeDetails: 'via_upstream',
      responseFlags: flags, error: undefined,
    });
    r.recordHttp({
      conn, startMs: 6_000, durationMs: 1, requestId: undefined, authority: 'a.example', path: '/', method: 'GET',
      routeConfig: undefined, matched: undefined, cluster: undefined, upstreamHost: undefined, upstreamTls: undefined,
      responseCode: 404, responseCodeDetails: 'route_not_found', responseFlags: ['NR'], error: undefined,
    });
    const [first, second] = r.query();
    expect(JSON.stringify(first)).toBe(JSON.stringify({
      kind: 'http', startMs: 5_000, durationMs: 3, listener: 'http.8080', downstreamRemoteAddress: '127.0.0.1:4000',
      downstreamLocalAddress: '127.0.0.1:8080', downstreamSni: 'a.example', requestId: 'rid', authority: 'a.example', path: '/x',
      method: 'GET', routeConfig: 'rc', virtualHost: 'vh', routeMatch: 'prefix /', cluster: 'c1', upstreamHost: '10.0.0.1:80',
      upstreamTls: { sni: 'up.example' }, responseCode: 200, responseCodeDetails: 'via_upstream', responseFlags: [],
    }));
    expect(second).toEqual({
      kind: 'http', startMs: 6_000, durationMs: 1, listener: 'http.8080', downstreamRemoteAddress: '127.0.0.1:4000',
      downstreamLocalAddress: '127.0.0.1:8080', downstreamSni: 'a.example', authority: 'a.example', path: '/', method: 'GET',
      responseCode: 404, responseCodeDetails: 'route_not_found', responseFlags: ['NR'],
    });
    expect(r.query({ requestId: 'rid' })).toEqual([first]);
    expect(r.query({ sni: 'up.example' })).toEqual([first]);
    expect(r.query()[0]).toBe(first); // built once
  });
});
