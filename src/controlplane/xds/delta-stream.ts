import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from '../../envoy/index.js';
import { judgeRequest } from './ack.js';
import type { SentResponse } from './ack.js';
import { PUSH_ORDER, isXdsTypeUrl, shortTypeName } from './resource-types.js';
import type { XdsTypeUrl } from './resource-types.js';
import type { Snapshot, SnapshotResource } from './snapshot.js';
import type { StreamContext } from './stream-context.js';
import { Subscription } from './subscription.js';

interface TypeState {
  readonly subscription: Subscription;
  /** name -> resource version the client holds (as far as we know). */
  known: Map<string, string>;
  /** The last response, with what the client held before it, to roll back to on a NACK. */
  sent?: SentResponse & { readonly before: Map<string, string> };
  answered: boolean;
}

/**
 * One incremental (delta) ADS stream: responses carry only resources that changed for the client,
 * each with its own version, plus the names removed. Tracks what the client holds per resource,
 * starting from initial_resource_versions when it reconnects.
 */
export class DeltaStream {
  private readonly types = new Map<XdsTypeUrl, TypeState>();
  private snapshot: Snapshot | undefined;
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly context: StreamContext,
    private readonly send: (response: DeltaDiscoveryResponse) => void,
  ) {}

  start(): void {
    this.snapshot = this.context.cache.getSnapshot(this.context.nodeId);
    this.unwatch = this.context.cache.watch(this.context.nodeId, (snapshot) => this.onSnapshot(snapshot));
  }

  stop(): void {
    this.unwatch?.();
  }

  handle(request: DeltaDiscoveryRequest): void {
    const typeUrl = request.type_url;
    if (!isXdsTypeUrl(typeUrl)) {
      this.context.logger?.debug({ node: this.context.nodeId, typeUrl }, 'ignoring a request for a type this server does not serve');
      return;
    }
    let state = this.types.get(typeUrl);
    if (!state) {
      state = { subscription: new Subscription(typeUrl), known: new Map(Object.entries(request.initial_resource_versions ?? {})), answered: false };
      this.types.set(typeUrl, state);
    }
    const verdict = judgeRequest(request, state.sent);
    const { connectionId, nodeId } = this.context;
    if (verdict.kind === 'nack' && state.sent) {
      this.context.status.nacked(connectionId, typeUrl, verdict.version, request.response_nonce ?? '', verdict.message);
      this.context.rejected.reject(connectionId, typeUrl, verdict.version);
      state.known = state.sent.before; // the client kept what it had
      this.context.logger?.warn({ node: nodeId, type: shortTypeName(typeUrl), version: verdict.version, error: verdict.message }, 'proxy rejected config (NACK); holding it back until the config changes');
    } else if (verdict.kind === 'ack') {
      this.context.status.acked(connectionId, typeUrl, verdict.version, request.response_nonce ?? '');
    }
    // Subscription changes count whatever the nonce says: they are not answers to a response.
    const dropped = state.subscription.change(request.resource_names_subscribe ?? [], request.resource_names_unsubscribe ?? []);
    for (const name of dropped) if (!state.subscription.includes(name)) state.known.delete(name);
    this.push(typeUrl, state);
  }

  private onSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    for (const typeUrl of PUSH_ORDER) {
      const state = this.types.get(typeUrl);
      if (state) this.push(typeUrl, state);
    }
  }

  private push(typeUrl: XdsTypeUrl, state: TypeState): void {
    const snapshot = this.snapshot;
    if (!snapshot) return;
    const version = snapshot.version(typeUrl);
    if (this.context.rejected.isRejected(this.context.connectionId, typeUrl, version)) return;
    const available = snapshot.resources(typeUrl);
    const updates: SnapshotResource[] = [];
    for (const resource of available.values()) {
      if (state.subscription.includes(resource.name) && state.known.get(resource.name) !== resource.version) updates.push(resource);
    }
    const removed = [...state.known.keys()].filter((name) => !available.has(name));
    // A wildcard subscriber waits for a first answer even when there is nothing to send.
    const firstWildcard = !state.answered && state.subscription.wildcard;
    if (updates.length === 0 && removed.length === 0 && !firstWildcard) return;

    const before = new Map(state.known);
    for (const resource of updates) state.known.set(resource.name, resource.version);
    for (const name of removed) state.known.delete(name);
    const nonce = this.context.nextNonce();
    state.sent = { nonce, version, before };
    state.answered = true;
    this.send({
      system_version_info: version,
      resources: updates.map((r) => ({ name: r.name, version: r.version, resource: r.any })),
      type_url: typeUrl,
      removed_resources: removed,
      nonce,
      control_plane: { identifier: this.context.controlPlaneId },
    });
    this.context.status.sent(this.context.connectionId, typeUrl, version, nonce);
  }
}
