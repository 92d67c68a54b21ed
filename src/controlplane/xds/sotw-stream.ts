import { packResources } from '../../envoy/index.js';
import type { DiscoveryRequest, DiscoveryResponse, EncodedAny } from '../../envoy/index.js';
import { judgeRequest } from './ack.js';
import type { SentResponse } from './ack.js';
import { PUSH_ORDER, isXdsTypeUrl, shortTypeName } from './resource-types.js';
import type { XdsTypeUrl } from './resource-types.js';
import type { Snapshot } from './snapshot.js';
import type { StreamContext } from './stream-context.js';
import { Subscription } from './subscription.js';

/**
 * Resource lists by snapshot, type and subscription: proxies that share a snapshot and subscribe alike
 * get the same packed list, encoded once (see packResources). A few distinct subscriptions per snapshot
 * are expected (per proxy kind); past the bound, lists are packed per stream again.
 */
const SELECTIONS = new WeakMap<Snapshot, Map<string, EncodedAny[]>>();
const MAX_SELECTIONS_PER_SNAPSHOT = 64;

function selectAnys(snapshot: Snapshot, typeUrl: XdsTypeUrl, subscription: Subscription): EncodedAny[] {
  let bySubscription = SELECTIONS.get(snapshot);
  if (!bySubscription) SELECTIONS.set(snapshot, (bySubscription = new Map()));
  const key = `${typeUrl} ${subscription.key()}`;
  let anys = bySubscription.get(key);
  if (!anys) {
    anys = subscription.select(snapshot.resources(typeUrl)).map((r) => r.any);
    if (bySubscription.size < MAX_SELECTIONS_PER_SNAPSHOT) bySubscription.set(key, packResources(anys));
  }
  return anys;
}

interface TypeState {
  readonly subscription: Subscription;
  sent?: SentResponse;
}

/**
 * One state-of-the-world ADS stream: every response carries the full set of subscribed resources of
 * its type at the snapshot's version. Sends a type when it is requested, when the subscription's names
 * change, and when the snapshot's version for it changes, unless the node rejected that version.
 */
export class SotwStream {
  private readonly types = new Map<XdsTypeUrl, TypeState>();
  private snapshot: Snapshot | undefined;
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly context: StreamContext,
    private readonly send: (response: DiscoveryResponse) => void,
  ) {}

  start(): void {
    this.snapshot = this.context.cache.getSnapshot(this.context.nodeId);
    this.unwatch = this.context.cache.watch(this.context.nodeId, (snapshot) => this.onSnapshot(snapshot));
  }

  stop(): void {
    this.unwatch?.();
  }

  handle(request: DiscoveryRequest): void {
    const typeUrl = request.type_url;
    if (!isXdsTypeUrl(typeUrl)) {
      this.context.logger?.debug({ node: this.context.nodeId, typeUrl }, 'ignoring a request for a type this server does not serve');
      return;
    }
    let state = this.types.get(typeUrl);
    if (!state) {
      state = { subscription: new Subscription(typeUrl) };
      this.types.set(typeUrl, state);
    }
    const names = request.resource_names ?? [];
    const verdict = judgeRequest(request, state.sent);
    const { connectionId, nodeId } = this.context;
    switch (verdict.kind) {
      case 'stale':
        return;
      case 'nack':
        this.context.status.nacked(connectionId, typeUrl, verdict.version, request.response_nonce ?? '', verdict.message);
        this.context.rejected.reject(connectionId, typeUrl, verdict.version);
        this.context.logger?.warn({ node: nodeId, type: shortTypeName(typeUrl), version: verdict.version, error: verdict.message }, 'proxy rejected config (NACK); holding it back until the config changes');
        state.subscription.replace(names);
        return;
      case 'ack':
        this.context.status.acked(connectionId, typeUrl, verdict.version, request.response_nonce ?? '');
        if (state.subscription.replace(names)) this.push(typeUrl, state, true);
        return;
      case 'subscribe':
        state.subscription.replace(names);
        this.push(typeUrl, state, true);
    }
  }

  private onSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    for (const typeUrl of PUSH_ORDER) {
      const state = this.types.get(typeUrl);
      if (state) this.push(typeUrl, state, false);
    }
  }

  /** `requested`: the client asked (new subscription or names): answer even at an unchanged version. */
  private push(typeUrl: XdsTypeUrl, state: TypeState, requested: boolean): void {
    const snapshot = this.snapshot;
    if (!snapshot || state.subscription.isEmpty()) return;
    const version = snapshot.version(typeUrl);
    if (this.context.rejected.isRejected(this.context.connectionId, typeUrl, version)) return;
    if (!requested && state.sent?.version === version) return;
    const resources = selectAnys(snapshot, typeUrl, state.subscription);
    const nonce = this.context.nextNonce();
    state.sent = { nonce, version };
    this.send({
      version_info: version,
      resources,
      type_url: typeUrl,
      nonce,
      control_plane: { identifier: this.context.controlPlaneId },
    });
    this.context.status.sent(this.context.connectionId, typeUrl, version, nonce);
  }
}
