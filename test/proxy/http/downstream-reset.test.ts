// A client that goes away before its response: the proxy resets the upstream request too (Envoy's
// downstream reset), on HTTP/1 by closing the upstream connection, so a held upstream request does not
// outlive its client; the next client is served on a fresh connection.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startH2Fixture, until } from '../../security/h2-fixture.js';
import type { H2Fixture } from '../../security/h2-fixture.js';

describe('downstream reset', () => {
  let fx: H2Fixture;
  beforeAll(async () => {
    fx = await startH2Fixture([{ name: 'edge' }]);
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('an HTTP/1 client that disconnects mid-request cancels the upstream request', async () => {
    const client = connect(fx.port('edge'), '127.0.0.1');
    client.on('error', () => undefined);
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    client.write('GET /hold HTTP/1.1\r\nhost: app.test\r\n\r\n');
    await until(() => fx.upstream.active, (n) => n === 1, 'the held request at the upstream');
    client.destroy();
    await until(() => fx.upstream.active, (n) => n === 0, 'the upstream request cancelled');
    expect(fx.stat('cluster.app.upstream_rq_tx_reset')).toBeGreaterThanOrEqual(1);
    // The proxy still serves: a new request gets its answer.
    const answer = await new Promise<string>((resolve, reject) => {
      const c = connect(fx.port('edge'), '127.0.0.1', () => c.write('GET / HTTP/1.1\r\nhost: app.test\r\nconnection: close\r\n\r\n'));
      let got = '';
      c.on('data', (d: Buffer) => (got += d.toString()));
      c.on('end', () => resolve(got));
      c.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
  });
});
