/**
 * Lightweight xDS proxies for the control plane benchmark: raw @grpc/grpc-js ADS streams with the real Envoy
 * codec (discoveryCodec), SotW or delta, CDS + LDS wildcard, ACKing every response. Run as a worker thread
 * (N proxies on ceil(N / 50) connections) or used directly by the main thread.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import { XDS_TYPES, adsServiceDefinition } from '../../src/controlplane/xds/index.js';
import { discoveryCodec } from '../../src/envoy/index.js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse } from '../../src/envoy/index.js';

export const STREAMS_PER_CHANNEL = 50;
export const now = (): number => performance.timeOrigin + performance.now(); // epoch ms, comparable across threads

// ─── The ADS client: raw grpc-js bidi streams; responses keep their wire size ────────────────────────

export type Sized<T> = T & { bytes: number };
export interface AdsStub extends grpc.Client {
  StreamAggregatedResources(): grpc.ClientDuplexStream<DiscoveryRequest, Sized<DiscoveryResponse>>;
  DeltaAggregatedResources(): grpc.ClientDuplexStream<DeltaDiscoveryRequest, Sized<DeltaDiscoveryResponse>>;
}
const AdsClient = grpc.makeGenericClientConstructor({
  StreamAggregatedResources: {
    ...adsServiceDefinition.StreamAggregatedResources,
    responseDeserialize: (b: Buffer): Sized<DiscoveryResponse> => ({ ...discoveryCodec.decodeResponse(b), bytes: b.length }),
  },
  DeltaAggregatedResources: {
    ...adsServiceDefinition.DeltaAggregatedResources,
    responseDeserialize: (b: Buffer): Sized<DeltaDiscoveryResponse> => ({ ...discoveryCodec.decodeDeltaResponse(b), bytes: b.length }),
  },
}, 'AggregatedDiscoveryService');

/** One connection (grpc-js would share one per target unless told to use a local subchannel pool). */
export function channel(address: string): AdsStub {
  const options = { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_receive_message_length': -1, ...(process.env.BENCH_WINDOW ? { 'grpc-node.flow_control_window': Number(process.env.BENCH_WINDOW) } : {}) };
  return new AdsClient(address, grpc.credentials.createInsecure(), options) as unknown as AdsStub;
}

export const WATCHED = [XDS_TYPES.CDS, XDS_TYPES.LDS];

/** A proxy-like SotW stream: CDS + LDS wildcard, ACKs every response, tells `onResponse` when it did. */
export function sotwProxy(stub: AdsStub, nodeId: string, onResponse: (r: Sized<DiscoveryResponse>) => void): grpc.ClientDuplexStream<DiscoveryRequest, Sized<DiscoveryResponse>> {
  const call = stub.StreamAggregatedResources();
  call.on('data', (r: Sized<DiscoveryResponse>) => {
    call.write({ type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce, resource_names: [] });
    onResponse(r);
  });
  call.on('error', () => undefined); // cancelled at the end
  WATCHED.forEach((type_url, i) => call.write({ type_url, resource_names: [], ...(i === 0 ? { node: { id: nodeId } } : {}) }));
  return call;
}

export function deltaProxy(stub: AdsStub, nodeId: string, onResponse: (r: Sized<DeltaDiscoveryResponse>) => void): grpc.ClientDuplexStream<DeltaDiscoveryRequest, Sized<DeltaDiscoveryResponse>> {
  const call = stub.DeltaAggregatedResources();
  call.on('data', (r: Sized<DeltaDiscoveryResponse>) => {
    call.write({ type_url: r.type_url, response_nonce: r.nonce });
    onResponse(r);
  });
  call.on('error', () => undefined);
  WATCHED.forEach((type_url, i) => call.write({ type_url, ...(i === 0 ? { node: { id: nodeId } } : {}) }));
  return call;
}

// ─── Worker: N proxies on ceil(N / 50) connections ───────────────────────────────────────────────────

export type ToWorker = { kind: 'expect'; versions: Record<string, string> } | { kind: 'close' };
export type FromWorker = { kind: 'synced'; at: number; bytes: number } | { kind: 'done'; times: number[]; bytes: number };

function runProxies(address: string, nodeIds: string[], delta: boolean): void {
  const port = parentPort as NonNullable<typeof parentPort>;
  const stubs = Array.from({ length: Math.ceil(nodeIds.length / STREAMS_PER_CHANNEL) }, () => channel(address));
  const held = nodeIds.map(() => new Map<string, string>()); // type -> version each proxy ACKed
  const doneAt: number[] = nodeIds.map(() => 0);
  let expected: Record<string, string> | undefined;
  let bytes = 0;
  let synced = false;
  const check = (): void => {
    if (!synced && held.every((h) => WATCHED.every((t) => h.has(t)))) {
      synced = true;
      port.postMessage({ kind: 'synced', at: now(), bytes } satisfies FromWorker);
      bytes = 0;
    }
    if (expected && doneAt.every((t) => t > 0)) {
      port.postMessage({ kind: 'done', times: doneAt, bytes } satisfies FromWorker);
      expected = undefined;
    }
  };
  const satisfied = (h: Map<string, string>): boolean => !!expected && Object.entries(expected).every(([t, v]) => h.get(t) === v);
  const onResponse = (i: number, typeUrl: string, version: string, size: number): void => {
    bytes += size;
    const h = held[i] as Map<string, string>;
    h.set(typeUrl, version);
    if (doneAt[i] === 0 && satisfied(h)) doneAt[i] = now();
    check();
  };
  const stubOf = (i: number): AdsStub => stubs[Math.floor(i / STREAMS_PER_CHANNEL)] as AdsStub;
  const calls: grpc.ClientDuplexStream<never, unknown>[] = nodeIds.map((id, i) => (delta
    ? deltaProxy(stubOf(i), id, (r) => onResponse(i, r.type_url, r.system_version_info, r.bytes))
    : sotwProxy(stubOf(i), id, (r) => onResponse(i, r.type_url, r.version_info, r.bytes))));
  port.on('message', (m: ToWorker) => {
    if (m.kind === 'expect') {
      expected = m.versions;
      held.forEach((h, i) => { if (satisfied(h)) doneAt[i] = now(); });
      check();
    } else {
      for (const c of calls) c.cancel();
      for (const s of stubs) s.close();
      port.close();
    }
  });
}


if (!isMainThread) {
  const data = workerData as { address: string; nodeIds: string[]; delta: boolean };
  runProxies(data.address, data.nodeIds, data.delta);
}
