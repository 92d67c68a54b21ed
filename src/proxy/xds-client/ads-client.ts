import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { TYPE_URL } from '../../envoy/index.js';
import type { Node } from '../../envoy/index.js';
import type { ApplyResult } from '../dynamic.js';
import type { AdsConnection } from './connect.js';

/** What the ADS client needs from the protobuf layer (src/envoy/proto). */
export interface XdsCodec {
  encodeDiscoveryRequest(request: DiscoveryRequest): Buffer;
  decodeDiscoveryResponse(bytes: Buffer): DiscoveryResponse;
  /** Decodes one resource (google.protobuf.Any) into snake_case JSON. */
  decodeResource(any: { type_url: string; value: Uint8Array }): Record<string, unknown>;
}

export interface DiscoveryRequest {
  version_info: string;
  node?: Node;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail?: { code: number; message: string };
}

export interface DiscoveryResponse {
  version_info: string;
  resources: Array<{ type_url: string; value: Uint8Array }>;
  type_url: string;
  nonce: string;
}

const ADS_METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
/** Envoy's order: clusters before their endpoints, listeners before their routes, secrets as needed. */
const TYPES = [TYPE_URL.cluster, TYPE_URL.clusterLoadAssignment, TYPE_URL.listener, TYPE_URL.routeConfiguration, TYPE_URL.secret] as const;
const GRPC_INVALID_ARGUMENT = 3;
/** Stream endings that mean "not you", not "not now". */
const REFUSALS = new Set<grpc.status>([grpc.status.FAILED_PRECONDITION, grpc.status.PERMISSION_DENIED, grpc.status.UNAUTHENTICATED]);

/**
 * Where ADS responses are applied: the proxy's DynamicResources, or (isthmus proxy --concurrency N) the
 * primary's fan-out to its workers.
 */
export interface XdsTarget {
  applyClusters(items: readonly unknown[], version: string): Promise<ApplyResult> | ApplyResult;
  applyEndpoints(items: readonly unknown[]): Promise<ApplyResult> | ApplyResult;
  applyListeners(items: readonly unknown[], version: string): Promise<ApplyResult> | ApplyResult;
  applyRoutes(items: readonly unknown[], version: string): Promise<ApplyResult> | ApplyResult;
  applySecrets(items: readonly unknown[], version: string): Promise<ApplyResult> | ApplyResult;
  edsResourceNames(): string[];
  rdsResourceNames(): string[];
  sdsResourceNames(): string[];
}

export interface AdsClientOptions {
  /** host:port of the control plane's ADS server. */
  readonly address: string;
  readonly node: Node;
  /** Credentials and call metadata, asked for at every (re)connect (a renewed certificate is picked up). */
  readonly connection: () => AdsConnection;
  readonly codec: XdsCodec;
  readonly dynamic: XdsTarget;
  readonly logger?: Logger;
  readonly serverName?: string;
  /** Back-off between reconnects: starts at min, doubles to max, with jitter. */
  readonly backoffMs?: { min: number; max: number };
}

interface TypeState {
  /** Last version this proxy accepted (sent back with every request, as Envoy does). */
  version: string;
  nonce: string;
  names: string[];
  /** Whether a request for this type went out on the current stream. */
  subscribed: boolean;
  lastError?: string;
}

export interface AdsStatus {
  readonly connected: boolean;
  /** Why the control plane last refused this proxy (e.g. another revision), until a stream gets config. */
  readonly refused?: string;
  /** How the last stream authenticated to the control plane (plaintext, certificate <serial>, token). */
  readonly auth?: string;
  readonly types: Record<string, { version: string; nonce: string; names: string[]; lastError?: string }>;
}

/**
 * The proxy's ADS client (state of the world): subscribes CDS and LDS, then EDS, RDS and SDS for the
 * names those resources refer to; applies each response to the running proxy and ACKs it, or NACKs it
 * with the reason. While the control plane is away the proxy keeps serving its last good
 * configuration, and the client reconnects with back-off, resending the versions it has.
 */
export class AdsClient {
  private client: grpc.Client | undefined;
  private stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  private readonly state = new Map<string, TypeState>(TYPES.map((t) => [t, { version: '', nonce: '', names: [], subscribed: false }]));
  private attempt = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private connected = false;
  private firstRequestSent = false;
  private lastRefusal: string | undefined;
  /** How the current stream authenticates (AdsConnection.auth). */
  private auth = '';

  constructor(private readonly options: AdsClientOptions) {}

  /**
   * A fresh channel per stream attempt, so that this client's back-off alone decides when the proxy
   * reconnects (as Envoy's xDS retry does), and the credentials of this attempt are used (a renewed
   * workload certificate is presented on the next reconnect). A reused grpc-js channel keeps its own
   * reconnect back-off (1 s growing 1.6x to 2 min) and fails new streams with the last error until it
   * expires: after a control-plane restart, proxies came back tens of seconds after it was serving again.
   */
  private newChannel(connection: AdsConnection): grpc.Client {
    this.client?.close();
    this.client = new grpc.Client(this.options.address, connection.credentials, {
      ...(this.options.serverName ? { 'grpc.ssl_target_name_override': this.options.serverName } : {}),
      'grpc.keepalive_time_ms': 30_000,
    });
    return this.client;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stream?.cancel();
    await this.queue.catch(() => undefined);
    this.client?.close();
    this.client = undefined;
  }

  status(): AdsStatus {
    return {
      connected: this.connected,
      ...(this.lastRefusal ? { refused: this.lastRefusal } : {}),
      ...(this.auth ? { auth: this.auth } : {}),
      types: Object.fromEntries([...this.state].map(([t, s]) => [t, { version: s.version, nonce: s.nonce, names: s.names, ...(s.lastError ? { lastError: s.lastError } : {}) }])),
    };
  }

  private connect(): void {
    const codec = this.options.codec;
    let connection: AdsConnection;
    try {
      connection = this.options.connection();
    } catch (err) {
      // A certificate file gone missing: say so, keep serving, try again later.
      this.options.logger?.error({ err: (err as Error).message, address: this.options.address }, 'cannot build the credentials for the control plane');
      this.reconnectLater();
      return;
    }
        this.options.logger?.debug({ address: this.options.address, auth: connection.auth }, 'opening the xDS stream');
    const stream = this.newChannel(connection).makeBidiStreamRequest<DiscoveryRequest, DiscoveryResponse>(
      ADS_METHOD,
      (req) => codec.encodeDiscoveryRequest(req),
      (bytes) => codec.decodeDiscoveryResponse(bytes),
      connection.metadata,
    );
    this.auth = connection.auth;
    this.stream = stream;
    this.firstRequestSent = false;
    for (const s of this.state.values()) {
      s.subscribed = false;
      s.nonce = '';
    }
    stream.on('data', (response: DiscoveryResponse) => {
      if (!this.connected) this.options.logger?.info({ address: this.options.address, auth: this.auth }, 'connected to the control plane');
      this.connected = true;
      this.lastRefusal = undefined;
      this.attempt = 0;
      // One response at a time, in order: CDS must be applied before the EDS it leads to.
      this.queue = this.queue.then(() => this.onResponse(stream, response)).catch((err: unknown) => {
        this.options.logger?.error({ err }, 'xDS response handling failed');
      });
    });
    // A stream ends with 'status' (and 'error' when not OK); 'close' alone is not always emitted.
    let ended = false;
    const onEnd = (code: grpc.status, details: string) => {
      if (ended) return;
      ended = true;
      this.connected = false;
      if (this.stream === stream) this.stream = undefined;
      if (this.stopped) return;
      if (REFUSALS.has(code)) {
        // Not a network blip: the control plane will not serve this proxy as it is (another revision,
        // credentials). Say why, loudly; keep retrying in case the operator fixes the control plane side.
        this.options.logger?.error({ code: grpc.status[code], reason: details, address: this.options.address }, `the control plane refused this proxy: ${details}`);
        this.lastRefusal = details;
      } else {
        this.options.logger?.warn({ code: grpc.status[code], details, address: this.options.address }, 'xDS stream closed; serving the last good configuration');
      }
      this.reconnectLater();
    };
    stream.on('error', (err: grpc.ServiceError) => onEnd(err.code, err.details));
    stream.on('status', (status: grpc.StatusObject) => onEnd(status.code, status.details));
    stream.on('close', () => onEnd(grpc.status.UNAVAILABLE, 'stream closed'));
    this.subscribe(stream, TYPE_URL.cluster, []);
    this.subscribe(stream, TYPE_URL.listener, []);
  }

  private reconnectLater(): void {
    const { min, max } = this.options.backoffMs ?? { min: 500, max: 30_000 };
    const delay = Math.min(max, min * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
    this.timer.unref();
  }

  private send(stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>, request: DiscoveryRequest): void {
    const withNode = this.firstRequestSent ? request : { ...request, node: this.options.node };
    this.firstRequestSent = true;
    stream.write(withNode);
  }

  private subscribe(stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>, typeUrl: string, names: string[]): void {
    const s = this.state.get(typeUrl) as TypeState;
    s.names = names;
    s.subscribed = true;
    this.send(stream, { version_info: s.version, resource_names: names, type_url: typeUrl, response_nonce: s.nonce });
  }

  /** Subscribes named types (EDS, RDS, SDS) when the set of names the proxy needs has changed. */
  private updateSubscriptions(stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>): void {
    const dynamic = this.options.dynamic;
    const wanted: Record<string, string[]> = {
      [TYPE_URL.clusterLoadAssignment]: dynamic.edsResourceNames(),
      [TYPE_URL.routeConfiguration]: dynamic.rdsResourceNames(),
      [TYPE_URL.secret]: dynamic.sdsResourceNames(),
    };
    for (const [typeUrl, names] of Object.entries(wanted)) {
      const s = this.state.get(typeUrl) as TypeState;
      const sorted = [...new Set(names)].sort();
      if (s.subscribed && sorted.join('\n') === [...s.names].sort().join('\n')) continue;
      if (!s.subscribed && sorted.length === 0) continue;
      this.subscribe(stream, typeUrl, sorted);
    }
  }

  private async onResponse(stream: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>, response: DiscoveryResponse): Promise<void> {
    const s = this.state.get(response.type_url);
    if (!s) {
      this.send(stream, { version_info: '', resource_names: [], type_url: response.type_url, response_nonce: response.nonce, error_detail: { code: GRPC_INVALID_ARGUMENT, message: `unsupported type ${response.type_url}` } });
      return;
    }
    let result: ApplyResult;
    try {
      const resources = response.resources.map((any, i) => {
        if (any.type_url !== response.type_url) throw new Error(`resources[${i}] is a ${any.type_url}, not a ${response.type_url}`);
        return this.options.codec.decodeResource(any);
      });
      result = await this.apply(response.type_url, resources, response.version_info);
    } catch (err) {
      result = { error: (err as Error).message };
    }
    s.nonce = response.nonce;
    if (result.error) {
      s.lastError = result.error;
      this.options.logger?.warn({ type: response.type_url, version: response.version_info, error: result.error }, 'xDS update rejected (NACK); the last good configuration keeps serving');
      this.send(stream, { version_info: s.version, resource_names: s.names, type_url: response.type_url, response_nonce: response.nonce, error_detail: { code: GRPC_INVALID_ARGUMENT, message: result.error } });
    } else {
      s.version = response.version_info;
      delete s.lastError;
      this.options.logger?.debug({ type: response.type_url, version: response.version_info, resources: response.resources.length }, 'xDS update applied (ACK)');
      this.send(stream, { version_info: s.version, resource_names: s.names, type_url: response.type_url, response_nonce: response.nonce });
    }
    this.updateSubscriptions(stream);
  }

  private apply(typeUrl: string, resources: Record<string, unknown>[], version: string): Promise<ApplyResult> | ApplyResult {
    const dynamic = this.options.dynamic;
    switch (typeUrl) {
      case TYPE_URL.cluster: return dynamic.applyClusters(resources, version);
      case TYPE_URL.clusterLoadAssignment: return dynamic.applyEndpoints(resources);
      case TYPE_URL.listener: return dynamic.applyListeners(resources, version);
      case TYPE_URL.routeConfiguration: return dynamic.applyRoutes(resources, version);
      case TYPE_URL.secret: return dynamic.applySecrets(resources, version);
      default: return { error: `unsupported type ${typeUrl}` };
    }
  }
}

