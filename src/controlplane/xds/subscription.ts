import { WILDCARD_CAPABLE } from './resource-types.js';

/**
 * What a client subscribed to for one type: a wildcard (LDS/CDS "send me everything"), names, or both.
 * Wildcard rules of the xDS protocol: "*" subscribes to the wildcard explicitly; a first request with
 * no names for LDS/CDS is the legacy wildcard, which stays until the client names resources.
 */
export class Subscription {
  wildcard = false;
  readonly names = new Set<string>();
  private legacyWildcard = false;
  private started = false;
  /** key(), kept until the subscription changes: SotW pushes look it up per stream. */
  private cachedKey: string | undefined;

  constructor(private readonly typeUrl: string) {}

  /** SotW: every request carries the full list. Returns whether the subscription changed. */
  replace(resourceNames: readonly string[]): boolean {
    const before = this.key();
    this.cachedKey = undefined;
    if (!this.started && resourceNames.length === 0 && WILDCARD_CAPABLE.has(this.typeUrl)) {
      this.legacyWildcard = true;
    } else if (!(this.legacyWildcard && resourceNames.length === 0)) {
      this.legacyWildcard = false;
    }
    this.started = true;
    this.wildcard = this.legacyWildcard || resourceNames.includes('*');
    this.names.clear();
    for (const name of resourceNames) if (name !== '*') this.names.add(name);
    return this.key() !== before;
  }

  /** Delta: requests carry changes. Returns the names the client dropped. */
  change(subscribe: readonly string[], unsubscribe: readonly string[]): string[] {
    this.cachedKey = undefined;
    if (!this.started && subscribe.length === 0 && WILDCARD_CAPABLE.has(this.typeUrl)) this.wildcard = true;
    this.started = true;
    for (const name of subscribe) {
      if (name === '*') this.wildcard = true;
      else this.names.add(name);
    }
    const dropped: string[] = [];
    for (const name of unsubscribe) {
      if (name === '*') this.wildcard = false;
      else if (this.names.delete(name)) dropped.push(name);
    }
    return dropped;
  }

  isEmpty(): boolean {
    return !this.wildcard && this.names.size === 0;
  }

  includes(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /** The subscribed resources that exist, in the map's order. */
  select<T>(resources: ReadonlyMap<string, T>): T[] {
    if (this.wildcard) return [...resources.values()];
    const out: T[] = [];
    for (const name of this.names) {
      const resource = resources.get(name);
      if (resource !== undefined) out.push(resource);
    }
    return out;
  }

  /** A comparable description, to tell whether a response still matches the subscription. */
  key(): string {
    this.cachedKey ??= `${this.wildcard ? '*' : ''}|${[...this.names].sort().join(',')}`;
    return this.cachedKey;
  }
}
