/**
 * Shared by the HTTP/1 smuggling advisories: one plain listener in front of the recording upstream,
 * raw bytes in, and the two things that matter: what the proxy answered, and that no request named by
 * a marker (the smuggled one, or the carrier itself) reached the upstream.
 */
import { expect } from 'vitest';
import { rawExchange } from './fixture.js';
import type { RawAnswer } from './fixture.js';
import { startHcmFixture } from './hcm-fixture.js';
import type { HcmFixture } from './hcm-fixture.js';

export interface SmugglingFixture {
  readonly fx: HcmFixture;
  readonly port: number;
  /** Sends bytes on a new connection; expects one of `statuses` and none of `markers` upstream. */
  refused(bytes: string, markers: readonly string[], statuses?: readonly number[]): Promise<RawAnswer>;
  stop(): Promise<void>;
}

export async function startSmugglingFixture(): Promise<SmugglingFixture> {
  const fx = await startHcmFixture([{ name: 'edge', hcm: { use_remote_address: true } }]);
  const port = fx.ports.edge as number;
  return {
    fx,
    port,
    async refused(bytes, markers, statuses = [400]) {
      const answer = await rawExchange(port, bytes);
      expect(statuses, answer.raw).toContain(answer.status);
      // The refusal ends the connection: nothing after it on the wire is read as another request.
      expect(answer.raw.match(/HTTP\/1\.1 \d{3} /g)?.length ?? 0, answer.raw).toBeLessThanOrEqual(1);
      for (const marker of markers) expect(fx.reached(marker), marker).toEqual([]);
      return answer;
    },
    stop: () => fx.stop(),
  };
}

/** A complete request that would reach the upstream if the proxy read it as a second request. */
export function smuggledRequest(marker: string): string {
  return `GET /${marker} HTTP/1.1\r\nhost: app.test\r\n\r\n`;
}
