import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { preloadEnvoyProtos } from '../../envoy/index.js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse, XdsNode } from '../../envoy/index.js';
import { allowAll } from './auth.js';
import type { Authenticator } from './auth.js';
import { DeltaStream } from './delta-stream.js';
import { checkNodeIdentity } from './node-identity.js';
import { XdsError, grpcStatusOf } from './errors.js';
import { RejectedVersions } from './rejected-versions.js';
import { isXdsTypeUrl } from './resource-types.js';
import { adsServiceDefinition } from './service.js';
import type { SnapshotCache } from './snapshot-cache.js';
import { SotwStream } from './sotw-stream.js';
import { ProxyStatusRegistry } from './status.js';
import type { ConnectionInfo, ProxyStatus, XdsIdentity } from './status.js';
import type { StreamContext } from './stream-context.js';

export interface XdsServerOptions {
  readonly cache: SnapshotCache;
  /**
   * Called once per stream with the node from its first request, before anything is answered, so a
   * translator can build that node's snapshot. A rejection ends the stream (an XdsError keeps its code).
   */
  readonly onNodeConnected?: (node: XdsNode, connection: ConnectionInfo) => Promise<void> | void;
  readonly onNodeDisconnected?: (node: XdsNode, connection: ConnectionInfo) => void;
  /** Who is calling; allow-all by default (plaintext tests). A listener may bring its own (listen()). */
  readonly authenticate?: Authenticator;
  /**
   * A caller turned away for its credentials or its node (UNAUTHENTICATED, PERMISSION_DENIED), so that
   * proxy-status can show who knocked; nodeId is unknown when the credentials failed before the first request.
   */
  readonly onRefused?: (refusal: { readonly nodeId: string | undefined; readonly peer: string; readonly error: XdsError }) => void;
  /** A response unanswered for this long makes the proxy STALE in proxyStatus() (default 5 s). */
  readonly staleAfterMs?: number;
  /** Sent in every response's control_plane.identifier. */
  readonly controlPlaneId?: string;
  readonly logger?: Logger;
}

interface StreamHandler<Req> {
  handle(request: Req): void;
  start(): void;
  stop(): void;
}

type Protocol = 'sotw' | 'delta';

/** "<host>/<package>.<Message>": ADS multiplexes types by this, so it is required (as go-control-plane does). */
const TYPE_URL_FORM = /^[^/\s]+\/[A-Za-z_][\w.]*$/;

function checkTypeUrl(request: { type_url?: string }): void {
  const typeUrl = request.type_url ?? '';
  if (!TYPE_URL_FORM.test(typeUrl)) {
    throw new XdsError('ERR_XDS_BAD_REQUEST', `type_url ${JSON.stringify(typeUrl.slice(0, 200))} is not a type URL`, {
      hint: 'an ADS request names its resource type, e.g. type.googleapis.com/envoy.config.cluster.v3.Cluster',
    });
  }
}

/**
 * The ADS server: moves messages between gRPC streams and the snapshot cache. State of the world
 * (StreamAggregatedResources) and incremental (DeltaAggregatedResources) for LDS, RDS, CDS, EDS, SDS.
 */
export class XdsServer {
  readonly status: ProxyStatusRegistry;
  private readonly rejected = new RejectedVersions();
  private readonly active = new Set<grpc.ServerDuplexStream<unknown, unknown>>();
  private readonly options: XdsServerOptions;
  private readonly grpcServers: grpc.Server[] = [];
  private connectionSeq = 0;
  private nonceSeq = 0;

  constructor(options: XdsServerOptions) {
    this.options = options;
    this.status = new ProxyStatusRegistry(options.staleAfterMs ?? 5_000);
  }

  /**
   * Adds the ADS service to a gRPC server the caller runs (e.g. next to the CA service); `authenticate`
   * replaces the server-wide authenticator for the streams of this one (Istio: 15010 trusts the network,
   * 15012 wants a certificate or a token).
   */
  register(server: grpc.Server, authenticate?: Authenticator): void {
    preloadEnvoyProtos();
    const auth = authenticate ?? this.options.authenticate ?? allowAll;
    server.addService(adsServiceDefinition, {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => this.serve(call, 'sotw', auth),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) => this.serve(call, 'delta', auth),
    });
  }

  /**
   * Starts a gRPC server of its own; returns the bound port (give port 0 for any free port). May be
   * called once per address: a plaintext port and a TLS port serve the same streams and status.
   */
  async listen(address = '127.0.0.1:0', credentials = grpc.ServerCredentials.createInsecure(), authenticate?: Authenticator): Promise<number> {
    const server = new grpc.Server();
    this.register(server, authenticate);
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, credentials, (err, bound) => (err ? reject(new XdsError('ERR_XDS_LISTEN', `cannot listen on ${address}: ${err.message}`, { cause: err })) : resolve(bound)));
    });
    this.grpcServers.push(server);
    this.options.logger?.info({ address, port }, 'xDS (ADS) server listening');
    return port;
  }

  /** Ends every stream (proxies reconnect to another replica) and stops the server if it owns one. */
  async close(): Promise<void> {
    for (const call of this.active) call.end();
    this.active.clear();
    const servers = this.grpcServers.splice(0);
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => {
      const force = setTimeout(() => server.forceShutdown(), 2_000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    })));
  }

  /** Every connected proxy with its sync state per type (proxy-status). */
  proxyStatus(): ProxyStatus[] {
    return this.status.list((nodeId, typeUrl) => (isXdsTypeUrl(typeUrl) ? this.options.cache.getSnapshot(nodeId)?.version(typeUrl) : undefined));
  }

  get connectionCount(): number {
    return this.active.size;
  }

  private serve<Req extends { node?: XdsNode }, Res>(call: grpc.ServerDuplexStream<Req, Res>, protocol: Protocol, authenticate: Authenticator): void {
    const anyCall = call as unknown as grpc.ServerDuplexStream<unknown, unknown>;
    this.active.add(anyCall);
    const connectionId = String(++this.connectionSeq);
    const identity: Promise<XdsIdentity> = Promise.resolve().then(() => authenticate(call));
    let handler: StreamHandler<Req> | undefined;
    let info: ConnectionInfo | undefined;
    let claimedNodeId: string | undefined;
    let closed = false;
    // Requests are handled one at a time, in order, even while onNodeConnected is pending.
    let queue = Promise.resolve();

    const cleanup = (): void => {
      if (closed) return;
      closed = true;
      this.active.delete(anyCall);
      handler?.stop();
      this.rejected.forget(connectionId);
      if (info) {
        this.status.disconnect(connectionId);
        this.options.onNodeDisconnected?.(info.node, info);
      }
    };
    const fail = (err: unknown): void => {
      if (closed) return;
      const status = grpcStatusOf(err);
      this.options.logger?.warn({ connection: connectionId, peer: call.getPeer(), node: info?.node.id ?? claimedNodeId, code: grpc.status[status.code], reason: status.details }, 'xDS stream refused');
      if (!(err instanceof XdsError)) this.options.logger?.error({ err }, 'unexpected error in an xDS stream');
      else if (err.code === 'ERR_XDS_UNAUTHENTICATED' || err.code === 'ERR_XDS_PERMISSION_DENIED') {
        this.options.onRefused?.({ nodeId: info?.node.id ?? claimedNodeId, peer: call.getPeer(), error: err });
      }
      cleanup();
      call.emit('error', { code: status.code, details: status.details });
    };

    identity.catch(fail);
    const first = async (request: Req): Promise<StreamHandler<Req>> => {
      const node = request.node;
      if (!node?.id) throw new XdsError('ERR_XDS_NO_NODE', 'the first request of an xDS stream must carry node.id', { hint: 'set node.id in the proxy bootstrap' });
      claimedNodeId = node.id;
      const who = await identity;
      // Bound before anything is built for the node: a caller gets only the config of the node it proves to be.
      checkNodeIdentity(who, node);
      info = { connectionId, node, identity: who, peer: call.getPeer(), protocol };
      try {
        await this.options.onNodeConnected?.(node, info);
      } catch (err) {
        if (err instanceof XdsError) throw err;
        throw new XdsError('ERR_XDS_NODE_SETUP', `cannot prepare the config of node "${node.id}": ${(err as Error).message}`, { cause: err });
      }
      this.status.connect(info);
      const context: StreamContext = {
        connectionId,
        nodeId: node.id,
        cache: this.options.cache,
        status: this.status,
        rejected: this.rejected,
        nextNonce: () => String(++this.nonceSeq),
        controlPlaneId: this.options.controlPlaneId ?? 'isthmus',
        logger: this.options.logger,
      };
      const send = (response: Res): void => {
        if (!closed) call.write(response);
      };
      const created = (protocol === 'sotw'
        ? new SotwStream(context, send as unknown as (r: DiscoveryResponse) => void)
        : new DeltaStream(context, send as unknown as (r: DeltaDiscoveryResponse) => void)) as unknown as StreamHandler<Req>;
      if (closed) return created;
      created.start();
      this.options.logger?.info({ connection: connectionId, node: node.id, cluster: node.cluster, protocol, principal: info.identity.principal }, 'proxy connected');
      return created;
    };

    call.on('data', (request: Req) => {
      queue = queue
        .then(async () => {
          if (closed) return;
          checkTypeUrl(request as { type_url?: string });
          if (!handler) handler = await first(request);
          else if (request.node?.id && request.node.id !== info?.node.id) {
            throw new XdsError('ERR_XDS_NODE_CHANGED', `the stream started as node "${info?.node.id}" and now says "${request.node.id}"`, { hint: 'one stream serves one node; open another stream' });
          }
          if (!closed) handler.handle(request);
        })
        .catch(fail);
    });
    call.on('end', () => {
      cleanup();
      call.end();
    });
    call.on('cancelled', cleanup);
    call.on('error', cleanup);
    call.on('close', cleanup);
  }
}
