/**
 * DNS for STRICT_DNS and LOGICAL_DNS clusters: dns.lookup (the system resolver, so /etc/hosts names
 * work) filtered by dns_lookup_family, re-run every dns_refresh_rate on an unref'd timer.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { DnsLookupFamily } from './settings.js';

/** Every address of `name` the lookup family allows, in resolver order, without duplicates. */
export async function resolveAddresses(name: string, family: DnsLookupFamily): Promise<string[]> {
  const literal = isIP(name);
  if (literal !== 0) {
    if ((family === 'V4_ONLY' && literal !== 4) || (family === 'V6_ONLY' && literal !== 6)) return [];
    return [name];
  }
  const lookupFamily = family === 'V4_ONLY' ? 4 : family === 'V6_ONLY' ? 6 : 0;
  const found = await lookup(name, { all: true, family: lookupFamily, verbatim: true });
  const v4: string[] = [];
  const v6: string[] = [];
  for (const a of found) {
    const list = a.family === 6 ? v6 : v4;
    if (!list.includes(a.address)) list.push(a.address);
  }
  switch (family) {
    case 'V4_ONLY':
      return v4;
    case 'V6_ONLY':
      return v6;
    case 'AUTO': // Envoy: IPv6 first, IPv4 when there is no IPv6 answer
      return v6.length ? v6 : v4;
    case 'V4_PREFERRED':
      return v4.length ? v4 : v6;
    case 'ALL':
      return found.map((a) => a.address).filter((a, i, all) => all.indexOf(a) === i);
  }
}

/**
 * Resolves a list of names now and then every `refreshMs`. `onResolved` gets the addresses per name,
 * or undefined for a name whose lookup failed (the caller keeps what it had, as Envoy does).
 */
export class DnsRefresher {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly names: readonly string[],
    private readonly family: DnsLookupFamily,
    private readonly refreshMs: number,
    private readonly onResolved: (addresses: Array<string[] | undefined>) => void,
    private readonly describe: string,
    private readonly logger?: Logger,
  ) {}

  /** The first resolution; resolves once it is applied (Envoy warms a DNS cluster the same way). */
  async start(): Promise<void> {
    await this.resolveOnce();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async resolveOnce(): Promise<void> {
    const results = await Promise.all(this.names.map(async (name) => {
      try {
        return await resolveAddresses(name, this.family);
      } catch (err) {
        this.logger?.warn({ err, name }, `${this.describe}: DNS lookup of "${name}" failed; keeping the previous hosts`);
        return undefined;
      }
    }));
    if (this.stopped) return;
    this.onResolved(results);
    // The next round starts after this one finished, so slow lookups never overlap.
    this.timer = setTimeout(() => void this.resolveOnce(), this.refreshMs);
    this.timer.unref();
  }
}
