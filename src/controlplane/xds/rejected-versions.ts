/**
 * Versions each node rejected (NACKed), per type. Such a version is never sent to that node again:
 * its watch is parked until the node's snapshot moves to another version, instead of re-sending the
 * rejected config in a loop (go-control-plane's known gap). Kept per node, not per stream, so that a
 * proxy that reconnects does not get the same rejected config again either.
 */
export class RejectedVersions {
  private readonly byNode = new Map<string, Map<string, string>>();

  reject(nodeId: string, typeUrl: string, version: string): void {
    let types = this.byNode.get(nodeId);
    if (!types) {
      types = new Map();
      this.byNode.set(nodeId, types);
    }
    types.set(typeUrl, version);
  }

  isRejected(nodeId: string, typeUrl: string, version: string): boolean {
    const types = this.byNode.get(nodeId);
    const rejected = types?.get(typeUrl);
    if (rejected === undefined) return false;
    if (rejected === version) return true;
    types?.delete(typeUrl); // the snapshot has moved on: the watch is no longer parked
    return false;
  }

  forget(nodeId: string): void {
    this.byNode.delete(nodeId);
  }
}
