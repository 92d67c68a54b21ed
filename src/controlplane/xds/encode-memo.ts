/**
 * A memo of encoded resources by their JSON text. A config change re-translates every resource of a
 * proxy, but most come out identical: encoding those again (protobuf from JSON, the largest part of a
 * push) is wasted. JSON.stringify is ~10x cheaper than the encode, and the text determines the bytes,
 * so a hit is always the right encoding. Entries are kept in recency order and the oldest dropped past
 * a bound that grows with the largest snapshot seen, so alternating proxies of different kinds (gateway,
 * sidecar) still hit.
 */
export class EncodeMemo<V> {
  private readonly entries = new Map<string, V>();
  private capacity: number;

  constructor(private readonly minCapacity = 50_000) {
    this.capacity = minCapacity;
  }

  /** The value for `key`, made by `make` on a miss. */
  get(key: string, make: () => V): V {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Re-insert: Map iteration order is insertion order, so the front is the least recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const value = make();
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) {
      for (const oldest of this.entries.keys()) {
        this.entries.delete(oldest);
        if (this.entries.size <= this.capacity) break;
      }
    }
    return value;
  }

  /** Keeps room for a few snapshots of `resources` resources each. */
  reserve(resources: number): void {
    this.capacity = Math.max(this.capacity, this.minCapacity, 3 * resources);
  }

  get size(): number {
    return this.entries.size;
  }
}
