/**
 * Versions a stream's proxy rejected (NACKed), per type. Such a version is not sent on that stream again:
 * its watch is parked until the node's snapshot moves to another version, instead of re-sending the
 * rejected config in a loop (go-control-plane's known gap).
 *
 * Kept per stream (connection id), not per node id: a proxy that restarts or reconnects under the same
 * node id is a fresh process (or one that lost its stream) and may well accept what its predecessor
 * refused (a port that was busy, a secret that was missing). Parking per node id made a gateway that was
 * killed and restarted get CDS but never LDS ("LDS NOT SENT") until the config changed. A new stream that
 * rejects the version again is parked again after one response, so there is still no loop.
 */
export class RejectedVersions {
  private readonly byStream = new Map<string, Map<string, string>>();

  reject(streamId: string, typeUrl: string, version: string): void {
    let types = this.byStream.get(streamId);
    if (!types) {
      types = new Map();
      this.byStream.set(streamId, types);
    }
    types.set(typeUrl, version);
  }

  isRejected(streamId: string, typeUrl: string, version: string): boolean {
    const types = this.byStream.get(streamId);
    const rejected = types?.get(typeUrl);
    if (rejected === undefined) return false;
    if (rejected === version) return true;
    types?.delete(typeUrl); // the snapshot has moved on: the watch is no longer parked
    return false;
  }

  /** The stream ended: what it rejected means nothing for the next one. */
  forget(streamId: string): void {
    this.byStream.delete(streamId);
  }

  /** Streams with a parked type (tests, leak checks). */
  get size(): number {
    return this.byStream.size;
  }
}
