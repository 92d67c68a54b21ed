/**
 * Per-connection HTTP/2 abuse limits for the connection manager's downstream sessions, after Envoy's:
 *
 * - Rapid reset (CVE-2023-44487): a stream the client resets within `prematureResetMinLifetimeMs` of
 *   opening it is "premature". Once `prematureResetTotalStreamCount` streams have closed, the connection
 *   is closed when half or more of them were premature; before that, as soon as the premature ones alone
 *   reach half the count (Envoy's overload.premature_reset_* runtime keys, same defaults).
 * - Control-frame floods (PING / SETTINGS): a token bucket per connection; a client that keeps sending
 *   them faster than the refill rate past the burst is cut off. nghttp2 already bounds the ACKs queued
 *   for a client that does not read, and CONTINUATION runs, empty DATA frames and invalid frames are
 *   bounded by nghttp2 and node's maxSessionInvalidFrames (set by the connection manager).
 *
 * A connection over a limit gets GOAWAY with ENHANCE_YOUR_CALM and is closed; other connections are
 * unaffected.
 */
import { constants } from 'node:http2';
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Counter } from '../stats.js';

/** Time for the GOAWAY frame to reach the socket before the session is destroyed. */
const GOAWAY_FLUSH_MS = 20;

export interface Http2GuardLimits {
  /** overload.premature_reset_min_stream_lifetime_seconds (Envoy default 1 s). */
  readonly prematureResetMinLifetimeMs: number;
  /** overload.premature_reset_total_stream_count (Envoy default 500). */
  readonly prematureResetTotalStreamCount: number;
  /** PING + SETTINGS frames a client may send in a burst before the refill rate applies. */
  readonly controlFrameBurst: number;
  /** PING + SETTINGS frames per second refilled into the bucket. */
  readonly controlFramesPerSecond: number;
}

export const DEFAULT_HTTP2_GUARD_LIMITS: Http2GuardLimits = {
  prematureResetMinLifetimeMs: 1_000,
  prematureResetTotalStreamCount: 500,
  controlFrameBurst: 1_000,
  controlFramesPerSecond: 50,
};

export interface Http2GuardStats {
  /** downstream_rq_rx_reset: streams the client reset. */
  readonly rxReset: Counter;
  /** downstream_rq_too_many_premature_resets: connections closed for rapid reset. */
  readonly tooManyPrematureResets: Counter;
  /** downstream_cx_control_frame_flood: connections closed for a PING/SETTINGS flood (Isthmus' own name). */
  readonly controlFrameFlood: Counter;
}

/** Watches one server session; closes it with ENHANCE_YOUR_CALM when a limit is crossed. */
export function guardHttp2Session(session: ServerHttp2Session, limits: Http2GuardLimits, stats: Http2GuardStats): void {
  let closedStreams = 0;
  let prematureResets = 0;
  let tokens = limits.controlFrameBurst;
  let refilledAt = Date.now();
  let calmedDown = false;

  const enhanceYourCalm = (counter: Counter) => {
    if (calmedDown || session.destroyed) return;
    calmedDown = true;
    counter.inc();
    // GOAWAY first (destroy() alone may close the socket before the frame is written), then the
    // connection is torn down without waiting for the client's open streams.
    session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    setTimeout(() => session.destroy(), GOAWAY_FLUSH_MS).unref();
  };

  const tooManyPrematureResets = () => {
    const total = limits.prematureResetTotalStreamCount;
    if (closedStreams < total) return prematureResets * 2 >= total;
    return prematureResets * 2 >= closedStreams;
  };

  session.on('stream', (stream: ServerHttp2Stream) => {
    const openedAt = Date.now();
    let aborted: 'peer' | 'local' | undefined;
    // 'aborted' fires before close while a response is pending: when the peer reset the stream it is
    // not destroyed yet, when this side destroyed it (upstream reset, local error) it already is.
    stream.once('aborted', () => {
      aborted = stream.destroyed ? 'local' : 'peer';
    });
    stream.once('close', () => {
      closedStreams++;
      // A stream reset in the same read as its HEADERS closes before any handler ran: no 'aborted'.
      const resetByPeer = aborted === 'peer' || (aborted === undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR && !stream.headersSent);
      if (!resetByPeer) return;
      stats.rxReset.inc();
      if (Date.now() - openedAt < limits.prematureResetMinLifetimeMs) prematureResets++;
      if (tooManyPrematureResets()) enhanceYourCalm(stats.tooManyPrematureResets);
    });
  });

  const controlFrame = () => {
    const now = Date.now();
    tokens = Math.min(limits.controlFrameBurst, tokens + ((now - refilledAt) / 1000) * limits.controlFramesPerSecond);
    refilledAt = now;
    tokens -= 1;
    if (tokens < 0) enhanceYourCalm(stats.controlFrameFlood);
  };
  session.on('ping', controlFrame);
  session.on('remoteSettings', controlFrame);
}
