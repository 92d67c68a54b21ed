import { describe, expect, it } from 'vitest';
import { diagnoseTrace } from '../../../src/proxy/trace/index.js';
import type { TraceEntry, TraceHop } from '../../../src/proxy/trace/index.js';

const http = (startMs: number, extra: Partial<TraceEntry>): TraceEntry => ({
  kind: 'http', startMs, durationMs: 5, downstreamRemoteAddress: '127.0.0.1:1', downstreamLocalAddress: '127.0.0.1:2',
  requestId: 'r', responseCode: 200, responseCodeDetails: 'via_upstream', responseFlags: [], ...extra,
});
const egress = (e: TraceEntry): TraceHop => ({ proxy: 'egress.istio-egress @ a', entry: e });
const ingress = (e: TraceEntry): TraceHop => ({ proxy: 'ingress.istio-ingress @ b', entry: e });

describe('trace diagnosis', () => {
  it('orders hops by time and reports no failure for a 2xx', () => {
    const d = diagnoseTrace([ingress(http(20, {})), egress(http(10, {}))], 200);
    expect(d.hops.map((h) => h.proxy)).toEqual(['egress.istio-egress @ a', 'ingress.istio-ingress @ b']);
    expect(d.failure).toBeUndefined();
  });

  it('names the hop that had no route, not the one that passed its 404 on', () => {
    const d = diagnoseTrace([
      egress(http(10, { responseCode: 404 })),
      ingress(http(20, { responseCode: 404, responseCodeDetails: 'route_not_found', responseFlags: ['NR'], authority: 'lambda.external', path: '/x', routeConfig: 'https.443' })),
    ], 404);
    expect(d.failure).toMatchObject({ hop: 2, proxy: 'ingress.istio-ingress @ b', reason: 'no route' });
    expect(d.failure?.detail).toContain('lambda.external/x');
  });

  it('blames the remote gateway that refused the client certificate (its listener refusal, same SNI)', () => {
    const d = diagnoseTrace([
      egress(http(10, { responseCode: 503, responseCodeDetails: 'upstream_reset_before_response_started{connection_failure}', responseFlags: ['UF'], upstreamTls: { sni: 'lambda.external' }, error: 'upstream connect to 127.0.0.1:1 failed: alert certificate unknown' })),
      ingress({ ...http(11, {}), kind: 'listener', requestId: undefined, downstreamSni: 'lambda.external', responseCode: 0, responseFlags: [], error: 'downstream TLS handshake failed: no certificate returned' } as TraceEntry),
    ], 503);
    expect(d.failure).toMatchObject({ hop: 2, proxy: 'ingress.istio-ingress @ b', reason: 'certificate refused' });
    expect(d.failure?.detail).toContain('no certificate returned');
  });

  it('SNI unknown when the remote listener had no filter chain for the SNI', () => {
    const d = diagnoseTrace([
      egress(http(10, { responseCode: 503, responseFlags: ['UF'], upstreamTls: { sni: 'other.external' }, error: 'socket hang up' })),
      ingress({ ...http(10, {}), kind: 'listener', downstreamSni: 'other.external', responseCode: 0, responseFlags: ['NR'], error: 'no filter chain matches SNI "other.external"' }),
    ], 503);
    expect(d.failure).toMatchObject({ hop: 2, reason: 'SNI unknown' });
  });

  it('certificate refused at the hop itself when its own verification failed; upstream down on ECONNREFUSED', () => {
    const verify = diagnoseTrace([egress(http(10, { responseCode: 503, responseFlags: ['UF'], error: 'upstream certificate verification failed: unable to verify the first certificate' }))], 503);
    expect(verify.failure).toMatchObject({ hop: 1, reason: 'certificate refused' });
    const down = diagnoseTrace([
      egress(http(10, { responseCode: 503 })),
      ingress(http(12, { responseCode: 503, responseFlags: ['UF'], upstreamHost: '127.0.0.1:9', cluster: 'outbound|443||alb', error: 'upstream connect to 127.0.0.1:9 failed: connect ECONNREFUSED 127.0.0.1:9' })),
    ], 503);
    expect(down.failure).toMatchObject({ hop: 2, reason: 'upstream down' });
    expect(down.failure?.detail).toContain('ECONNREFUSED');
  });

  it('an upstream error status passed through every hop is named at the last hop', () => {
    const d = diagnoseTrace([egress(http(10, { responseCode: 500 })), ingress(http(12, { responseCode: 500, upstreamHost: '10.0.0.1:443' }))], 500);
    expect(d.failure).toMatchObject({ hop: 2, reason: 'upstream returned an error' });
  });
});
