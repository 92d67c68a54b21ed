/**
 * HTTP/2 flood classes against the proxy's downstream connections, with hand-written frames:
 * - CONTINUATION flood (CVE-2024-27316 / CVE-2024-28182 class): a header block that never ends, in
 *   CONTINUATION frames with or without payload, is cut off; the proxy does not buffer it.
 * - Control-frame floods (CVE-2019-9512 ping, CVE-2019-9515 settings, CVE-2019-9518 empty frames).
 * - Flow-control windows: initial_stream_window_size / initial_connection_window_size are advertised and
 *   a client that sends past them is refused.
 * In every case the flooding connection is closed, memory stays bounded and other clients are served.
 */
import { connect } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR, FLAG, FRAME, RawH2Connection, SETTING, frame, literalHeader, ping, requestBlock } from './h2-frames.js';
import { startH2Fixture, until } from './h2-fixture.js';
import type { H2Fixture } from './h2-fixture.js';

async function served(port: number): Promise<number> {
  const session = connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  try {
    return await new Promise<number>((resolve, reject) => {
      const req = session.request({ ':path': '/', ':authority': 'app.test' });
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.on('error', reject);
      req.end();
    });
  } finally {
    session.close();
  }
}

/** Writes `next()` batches until the server closes the connection or `maxBytes` went out; returns bytes sent. */
async function flood(conn: RawH2Connection, next: () => Buffer, maxBytes: number): Promise<number> {
  let sent = 0;
  while (!conn.isClosed && sent < maxBytes) {
    const bytes = next();
    await conn.write(bytes);
    sent += bytes.length;
    // Let the proxy read between writes, as it would over a real network.
    await new Promise((r) => setImmediate(r));
  }
  await Promise.race([conn.closed, new Promise((r) => setTimeout(r, 2_000))]);
  return sent;
}

describe('HTTP/2 floods: the flooding connection is closed, others are served', () => {
  let fx: H2Fixture;
  beforeAll(async () => {
    fx = await startH2Fixture([
      { name: 'edge' },
      {
        name: 'windows',
        hcm: {
          http2_protocol_options: { initial_stream_window_size: 65_535, initial_connection_window_size: 1_048_576 },
          route_config: { name: 'windows', virtual_hosts: [{ name: 'app', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app-one-connection', timeout: '0s' } }] }] },
        },
      },
    ]);
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it.each([
    ['CONTINUATION frames with header fields', () => frame(FRAME.CONTINUATION, 0, 1, literalHeader('x-flood', 'a'.repeat(4_000)))],
    ['empty CONTINUATION frames', () => frame(FRAME.CONTINUATION, 0, 1)],
  ])('a header block that never ends (%s) is cut off after a bounded amount', async (_name, continuation) => {
    const heapBefore = process.memoryUsage().heapUsed;
    const conn = await RawH2Connection.open(fx.port('edge'));
    // HEADERS without END_HEADERS: every following frame must be a CONTINUATION of stream 1.
    await conn.write(frame(FRAME.HEADERS, FLAG.END_STREAM, 1, requestBlock('app.test', '/')));
    const sent = await flood(conn, () => Buffer.concat(Array.from({ length: 8 }, continuation)), 32 * 1024 * 1024);
    expect(conn.isClosed).toBe(true);
    expect(conn.goaway()?.errorCode).not.toBe(ERROR.NO_ERROR);
    // The header list limit is 60 KiB; the proxy gives up long before 32 MiB.
    expect(sent).toBeLessThan(1024 * 1024);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    expect(await served(fx.port('edge'))).toBe(200);
  });

  it('a PING flood gets GOAWAY(ENHANCE_YOUR_CALM)', async () => {
    const before = fx.stat('http.edge.downstream_cx_control_frame_flood');
    const conn = await RawH2Connection.open(fx.port('edge'));
    let n = 0;
    const sent = await flood(conn, () => Buffer.concat(Array.from({ length: 100 }, () => ping(n++))), 10 * 1024 * 1024);
    expect(conn.isClosed).toBe(true);
    expect(conn.goaway()?.errorCode).toBe(ERROR.ENHANCE_YOUR_CALM);
    expect(fx.stat('http.edge.downstream_cx_control_frame_flood')).toBe(before + 1);
    // The burst allows 1,000 PINGs (17 bytes each); the connection ends soon after.
    expect(sent).toBeLessThan(17 * 10_000);
    expect(await served(fx.port('edge'))).toBe(200);
  });

  it('a SETTINGS flood gets GOAWAY(ENHANCE_YOUR_CALM)', async () => {
    const before = fx.stat('http.edge.downstream_cx_control_frame_flood');
    const conn = await RawH2Connection.open(fx.port('edge'));
    const sent = await flood(conn, () => Buffer.concat(Array.from({ length: 100 }, () => frame(FRAME.SETTINGS, 0, 0))), 10 * 1024 * 1024);
    expect(conn.isClosed).toBe(true);
    expect(conn.goaway()?.errorCode).toBe(ERROR.ENHANCE_YOUR_CALM);
    expect(fx.stat('http.edge.downstream_cx_control_frame_flood')).toBe(before + 1);
    // 1,000 in the burst; the rest were already on the wire when the GOAWAY went out.
    expect(sent).toBeLessThan(9 * 10_000);
    expect(await served(fx.port('edge'))).toBe(200);
  });

  it('a flood of empty DATA frames on an open stream closes the connection', async () => {
    const conn = await RawH2Connection.open(fx.port('edge'));
    // A POST whose body never comes: only zero-length DATA frames without END_STREAM.
    const post = Buffer.concat([Buffer.from([0x83, 0x86, 0x04, 0x05]), Buffer.from('/hold'), Buffer.from([0x01, 0x08]), Buffer.from('app.test')]);
    await conn.write(frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, post));
    const sent = await flood(conn, () => Buffer.concat(Array.from({ length: 100 }, () => frame(FRAME.DATA, 0, 1))), 10 * 1024 * 1024);
    expect(conn.isClosed).toBe(true);
    expect(sent).toBeLessThan(1024 * 1024);
    expect(await served(fx.port('edge'))).toBe(200);
    await until(() => fx.upstream.active, (n) => n === 0, 'upstream requests still open');
  });

  it('initial_stream_window_size and initial_connection_window_size are advertised', async () => {
    const conn = await RawH2Connection.open(fx.port('windows'));
    await until(() => conn.frames.some((f) => f.type === FRAME.WINDOW_UPDATE && f.streamId === 0), (v) => v, 'connection WINDOW_UPDATE');
    expect(conn.serverSettings().get(SETTING.INITIAL_WINDOW_SIZE)).toBe(65_535);
    const increment = conn.frames.find((f) => f.type === FRAME.WINDOW_UPDATE && f.streamId === 0)?.payload.readUInt32BE(0);
    // The connection window starts at 65,535 (RFC 9113); the server raises it to the configured size.
    expect(increment).toBe(1_048_576 - 65_535);
    conn.close();
  });

  it('a client that sends past the stream window is refused (FLOW_CONTROL_ERROR)', async () => {
    // The cluster's one connection is held by another request, so this one waits as pending and nobody
    // reads its body: the window the proxy advertised is all the client may send.
    const holder = connect(`http://127.0.0.1:${fx.port('windows')}`);
    holder.on('error', () => undefined);
    holder.request({ ':path': '/hold', ':authority': 'app.test' }).on('error', () => undefined).end();
    await until(() => fx.upstream.active, (n) => n === 1, 'the held request at the upstream');
    const conn = await RawH2Connection.open(fx.port('windows'));
    const post = Buffer.concat([Buffer.from([0x83, 0x86, 0x04, 0x05]), Buffer.from('/hold'), Buffer.from([0x01, 0x08]), Buffer.from('app.test')]);
    // 65,535 bytes fit the window; 16 KiB more in the same write do not (WINDOW_UPDATEs are ignored).
    const chunks = [frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, post)];
    for (let left = 65_535 + 16_384; left > 0; left -= 16_384) chunks.push(frame(FRAME.DATA, 0, 1, Buffer.alloc(Math.min(16_384, left))));
    await conn.write(Buffer.concat(chunks));
    const refusal = await until(
      () => conn.frames.find((f) => (f.type === FRAME.RST_STREAM && f.streamId === 1) || f.type === FRAME.GOAWAY),
      (f) => f !== undefined,
      'RST_STREAM or GOAWAY',
    );
    const code = refusal?.type === FRAME.GOAWAY ? refusal.payload.readUInt32BE(4) : refusal?.payload.readUInt32BE(0);
    expect(code).toBe(ERROR.FLOW_CONTROL_ERROR);
    conn.close();
    holder.destroy();
    await until(() => fx.upstream.active, (n) => n === 0, 'the held request cancelled');
    expect(await served(fx.port('windows'))).toBe(200);
  });
});
