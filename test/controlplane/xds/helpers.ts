// A raw ADS client built from the same Envoy protos as the server, and the resources the tests serve.
import * as grpc from '@grpc/grpc-js';
import { TYPE_URL, decodeAny } from '../../../src/envoy/index.js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse, XdsNode } from '../../../src/envoy/index.js';
import { Snapshot, adsServiceDefinition } from '../../../src/controlplane/xds/index.js';

type Json = Record<string, unknown>;

const AdsClient = grpc.makeGenericClientConstructor(adsServiceDefinition, 'AggregatedDiscoveryService');

/** Collects what a stream receives; next() hands out responses in order, waiting when none is there. */
class Inbox<T extends { type_url: string }> {
  readonly received: T[] = [];
  private readonly taken = new Set<T>();
  private waiters: Array<() => void> = [];
  ended: grpc.StatusObject | undefined;

  push(message: T): void {
    this.received.push(message);
    this.wake();
  }

  end(status: grpc.StatusObject): void {
    this.ended ??= status;
    this.wake();
  }

  count(typeUrl: string): number {
    return this.received.filter((r) => r.type_url === typeUrl).length;
  }

  async next(typeUrl?: string, timeoutMs = 3000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find((r) => !this.taken.has(r) && (typeUrl === undefined || r.type_url === typeUrl));
      if (found) {
        this.taken.add(found);
        return found;
      }
      if (this.ended) throw new Error(`stream ended (${this.ended.code}: ${this.ended.details}) while waiting for ${typeUrl ?? 'a response'}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${typeUrl ?? 'response'} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Fails if a response of this type arrives within `ms`. */
  async nothingWithin(typeUrl: string, ms: number): Promise<void> {
    const before = this.count(typeUrl);
    await new Promise((r) => setTimeout(r, ms));
    const after = this.count(typeUrl);
    if (after !== before) throw new Error(`expected no ${typeUrl} within ${ms} ms, got ${after - before}`);
  }

  async waitForEnd(timeoutMs = 3000): Promise<grpc.StatusObject> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (!this.ended) throw new Error('the stream did not end');
    return this.ended;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

interface AdsClientStub extends grpc.Client {
  StreamAggregatedResources(metadata?: grpc.Metadata): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  DeltaAggregatedResources(metadata?: grpc.Metadata): grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
}

/** Each client gets its own connection (grpc-js would otherwise share one per target). */
function stub(address: string, credentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}): AdsClientStub {
  return new AdsClient(address, credentials, { 'grpc.use_local_subchannel_pool': 1, ...options }) as unknown as AdsClientStub;
}

/** A state-of-the-world ADS client that does nothing on its own: the test decides every request. */
export class SotwClient {
  readonly inbox = new Inbox<DiscoveryResponse>();
  private readonly client: AdsClientStub;
  private readonly call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  private sentNode = false;

  constructor(address: string, readonly node: XdsNode, options: { metadata?: grpc.Metadata; credentials?: grpc.ChannelCredentials; channelOptions?: grpc.ChannelOptions } = {}) {
    this.client = stub(address, options.credentials, options.channelOptions);
    this.call = this.client.StreamAggregatedResources(options.metadata ?? new grpc.Metadata());
    this.call.on('data', (response: DiscoveryResponse) => this.inbox.push(response));
    this.call.on('status', (status: grpc.StatusObject) => this.inbox.end(status));
    this.call.on('error', () => undefined); // reported through 'status'
  }

  request(typeUrl: string, resourceNames: string[] = [], answer?: { version: string; nonce: string; error?: string }): void {
    const request: DiscoveryRequest = { type_url: typeUrl, resource_names: resourceNames, version_info: answer?.version ?? '', response_nonce: answer?.nonce ?? '' };
    if (answer?.error) request.error_detail = { code: 3, message: answer.error };
    if (!this.sentNode) {
      request.node = this.node;
      this.sentNode = true;
    }
    this.call.write(request);
  }

  ack(response: DiscoveryResponse, resourceNames: string[] = []): void {
    this.request(response.type_url, resourceNames, { version: response.version_info, nonce: response.nonce });
  }

  /** A NACK carries the version the client still runs, the nonce it answers, and the error. */
  nack(response: DiscoveryResponse, runningVersion: string, error: string, resourceNames: string[] = []): void {
    this.request(response.type_url, resourceNames, { version: runningVersion, nonce: response.nonce, error });
  }

  next(typeUrl?: string, timeoutMs?: number): Promise<DiscoveryResponse> {
    return this.inbox.next(typeUrl, timeoutMs);
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** A delta ADS client, as raw as SotwClient. */
export class DeltaClient {
  readonly inbox = new Inbox<DeltaDiscoveryResponse>();
  private readonly client: AdsClientStub;
  private readonly call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
  private sentNode = false;

  constructor(address: string, readonly node: XdsNode) {
    this.client = stub(address);
    this.call = this.client.DeltaAggregatedResources(new grpc.Metadata());
    this.call.on('data', (response: DeltaDiscoveryResponse) => this.inbox.push(response));
    this.call.on('status', (status: grpc.StatusObject) => this.inbox.end(status));
    this.call.on('error', () => undefined);
  }

  request(request: DeltaDiscoveryRequest): void {
    const withNode = this.sentNode ? request : { ...request, node: this.node };
    this.sentNode = true;
    this.call.write(withNode);
  }

  ack(response: DeltaDiscoveryResponse, change: Partial<DeltaDiscoveryRequest> = {}): void {
    this.request({ type_url: response.type_url, response_nonce: response.nonce, ...change });
  }

  next(typeUrl?: string, timeoutMs?: number): Promise<DeltaDiscoveryResponse> {
    return this.inbox.next(typeUrl, timeoutMs);
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

export function names(response: DiscoveryResponse): string[] {
  return response.resources.map((r) => {
    const json = decodeAny(r);
    return (json.name ?? json.cluster_name) as string;
  });
}

export function decoded(response: DiscoveryResponse): Json[] {
  return response.resources.map((r) => decodeAny(r));
}

const ads = { ads: {}, resource_api_version: 'V3' };

export function edsCluster(name: string, extra: Json = {}): Json {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: ads }, connect_timeout: '1s', ...extra };
}

export function assignment(name: string, port: number, host = '127.0.0.1'): Json {
  return { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] }] };
}

export function rdsListener(name: string, port: number, routeName: string, statPrefix = name): Json {
  return {
    name,
    address: { socket_address: { address: '0.0.0.0', port_value: port } },
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': TYPE_URL.httpConnectionManager,
          stat_prefix: statPrefix,
          rds: { route_config_name: routeName, config_source: ads },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TYPE_URL.router } }],
        },
      }],
    }],
  };
}

export function routes(name: string, cluster: string, prefix = '/'): Json {
  return { name, virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix }, route: { cluster } }] }] };
}

/** A consistent four-type snapshot; `generation` changes the listener and the clusters' timeouts. */
export function meshSnapshot(generation: number, clusterNames: string[] = ['a', 'b']): Snapshot {
  return new Snapshot({
    [TYPE_URL.cluster]: { version: `v${generation}`, resources: clusterNames.map((n) => edsCluster(n, { connect_timeout: `${generation}s` })) },
    [TYPE_URL.clusterLoadAssignment]: { version: `v${generation}`, resources: clusterNames.map((n, i) => assignment(n, 9000 + i)) },
    [TYPE_URL.listener]: { version: `v${generation}`, resources: [rdsListener('http', 8080, 'r1', `http_${generation}`)] },
    [TYPE_URL.routeConfiguration]: { version: `v${generation}`, resources: [routes('r1', clusterNames[0] as string, `/g${generation}`)] },
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
