import { describe, expect, it } from 'vitest';
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
});
