import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { TYPE_URL, durationMs } from '../../envoy/index.js';
import type { DownstreamTlsContext, FilterChain, Listener } from '../../envoy/index.js';
import type { HttpFilterFactory } from '../http/filter.js';
import { createNetworkFilters } from '../network/index.js';
import type { NetworkFilter } from '../network/index.js';
import type { StatsStore } from '../stats.js';
import { compileDownstreamTls } from '../tls/downstream.js';
import type { DownstreamTls } from '../tls/downstream.js';
import { peerIdentity, peerUriSan } from '../tls/san.js';
import type { ClusterManager } from '../upstream/index.js';
import type { RouteStore } from '../http/route-store.js';
import { SecretStore, resolveTlsContext } from '../tls/sds.js';
import { tlsDetails } from '../trace/index.js';
import type { TraceRecorder } from '../trace/index.js';
import type { ConnectionInfo } from './connection-info.js';
import type { GlobalConnectionLimit } from './global-connection-limit.js';
import { duplicateMatchIndex, needsTlsInspection, selectFilterChain } from './filter-chain-match.js';
import type { Candidate } from './filter-chain-match.js';
import { ClientHelloReader } from './tls-inspector.js';
import type { ClientHelloResult } from './tls-inspector.js';
import { clientCertificate } from './client-certificate.js';
import { validServerName } from './server-name.js';

export interface ListenerContext {
  readonly clusters: ClusterManager;
  readonly stats: StatsStore;
  readonly baseDir: string;
  readonly logger?: Logger;
  readonly httpFilters: ReadonlyMap<string, HttpFilterFactory>;
  /** SDS secrets; TLS contexts that name secrets are resolved against it. */
  readonly secrets?: SecretStore;
  /** RDS route configurations. */
  readonly routes?: RouteStore;
  /** The proxy's instance ("pod") IP: listeners on 0.0.0.0 or :: bind to it instead, so proxies share a host. */
  readonly instanceIp?: string;
  /** Keeps completed streams, connections and listener-level refusals for /isthmus/trace. */
  readonly trace?: TraceRecorder;
  /** overload_manager's global_downstream_max_connections, shared by every listener. */
  readonly globalConnections?: GlobalConnectionLimit;
}

const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '']);

/** A listener that names SDS secrets not delivered yet: it warms until they arrive (as Envoy). */
export class MissingSecretsError extends Error {
  constructor(readonly names: readonly string[], path: string) {
    super(`${path}: waiting for SDS secrets ${names.join(', ')}`);
    this.name = 'MissingSecretsError';
  }
}

interface CompiledListener {
  readonly chains: Candidate<CompiledChain>[];
  readonly defaultChain: CompiledChain | undefined;
  readonly inspect: boolean;
  readonly secretNames: string[];
}

interface CompiledChain {
  readonly name: string;
  readonly tls?: DownstreamTls;
  /** Terminates TLS for this chain; never listens itself: the listener hands it connections. */
  readonly tlsServer?: TlsServer;
  readonly filters: NetworkFilter[];
}

let nextConnectionId = 1;

async function compileChain(chain: FilterChain, ctx: ListenerContext, path: string, secretNames: string[]): Promise<CompiledChain> {
  let tls: DownstreamTls | undefined;
  const socket = chain.transport_socket;
  if (socket) {
    const typeUrl = socket.typed_config?.['@type'];
    if (typeUrl === TYPE_URL.downstreamTlsContext) {
      const { '@type': _t, ...config } = socket.typed_config as Record<string, unknown>;
      const sds = resolveTlsContext(config as DownstreamTlsContext, ctx.secrets ?? new SecretStore());
      secretNames.push(...sds.names);
      if (sds.missing.length > 0) throw new MissingSecretsError(sds.missing, `${path}.transport_socket`);
      tls = compileDownstreamTls(sds.resolved, ctx.baseDir, `${path}.transport_socket.typed_config`);
    } else if (typeUrl !== TYPE_URL.rawBuffer) {
      throw new Error(`${path}.transport_socket: unsupported transport socket "${socket.name}" (${typeUrl ?? 'no typed_config'}) on a listener; use DownstreamTlsContext`);
    }
  }
  const filters = await createNetworkFilters(chain.filters ?? [], { ...ctx, path: `${path}.filters` });
  const tlsServer = tls ? createTlsServer({ ...tls.serverOptions, handshakeTimeout: durationMs(chain.transport_socket_connect_timeout) ?? 10_000 }) : undefined;
  return { name: chain.name ?? '', ...(tls ? { tls } : {}), ...(tlsServer ? { tlsServer } : {}), filters };
}

/**
 * A listener: accepts connections, runs the tls_inspector when filter chains match on SNI/ALPN,
 * picks the filter chain, terminates TLS when the chain has a DownstreamTlsContext, and hands the
 * connection to the chain's network filters.
 */
export class ListenerRuntime {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Connections in a TLS handshake, by remote ip:port, until their tls.Server reports them secure. */
  private readonly pendingTls = new Map<string, { chain: CompiledChain; info: ConnectionInfo }>();
  private draining = false;
  /** Connections in a TLS handshake, by their raw socket, for the trace of a failed handshake. */
  private readonly handshaking = new WeakMap<object, ConnectionInfo>();

  private chains: Candidate<CompiledChain>[];
  private defaultChain: CompiledChain | undefined;
  private inspect: boolean;
  /** SDS secrets the filter chains use; a change to one rebuilds the listener. */
  secretNames: string[];

  private constructor(
    public config: Listener,
    readonly name: string,
    compiled: CompiledListener,
    private readonly ctx: ListenerContext,
  ) {
    this.chains = compiled.chains;
    this.defaultChain = compiled.defaultChain;
    this.inspect = compiled.inspect;
    this.secretNames = compiled.secretNames;
    this.watchAllTls();
  }

  private watchAllTls(): void {
    for (const chain of [...this.chains.map((c) => c.value), ...(this.defaultChain ? [this.defaultChain] : [])]) this.watchTls(chain);
  }

  static async create(config: Listener, ctx: ListenerContext, path: string): Promise<ListenerRuntime> {
    const address = config.address.socket_address;
    const name = config.name ?? `${address.address}_${address.port_value ?? 0}`;
    return new ListenerRuntime(config, name, await ListenerRuntime.compile(config, ctx, path), ctx);
  }

  /**
   * Applies a new version of this listener without closing it: new connections use the new filter
   * chains, connections already open keep the chain they started with (Envoy drains those instead).
   */
  async update(config: Listener, path: string): Promise<void> {
    const compiled = await ListenerRuntime.compile(config, this.ctx, path);
    this.config = config;
    this.chains = compiled.chains;
    this.defaultChain = compiled.defaultChain;
    this.inspect = compiled.inspect;
    this.secretNames = compiled.secretNames;
    this.watchAllTls();
  }

  private static async compile(config: Listener, ctx: ListenerContext, path: string): Promise<CompiledListener> {
    let inspector = false;
    for (const [i, f] of (config.listener_filters ?? []).entries()) {
      if (f.typed_config?.['@type'] === TYPE_URL.tlsInspector) inspector = true;
      else throw new Error(`${path}.listener_filters[${i}]: unsupported listener filter "${f.name}"`);
    }
    const chainsConfig = config.filter_chains ?? [];
    const dup = duplicateMatchIndex(chainsConfig.map((c) => c.filter_chain_match));
    if (dup) throw new Error(`${path}.filter_chains[${dup[1]}]: the same filter_chain_match as filter_chains[${dup[0]}]; Envoy rejects identical matches`);
    const matches = chainsConfig.map((c) => c.filter_chain_match);
    if (needsTlsInspection(matches) && !inspector) {
      throw new Error(`${path}.listener_filters: filter chains match on server_names, transport_protocol "tls" or application_protocols, which needs envoy.filters.listener.tls_inspector`);
    }
    const chains: Candidate<CompiledChain>[] = [];
    const secretNames: string[] = [];
    for (const [i, chain] of chainsConfig.entries()) {
      chains.push({ match: chain.filter_chain_match, value: await compileChain(chain, ctx, `${path}.filter_chains[${i}]`, secretNames) });
    }
    const defaultChain = config.default_filter_chain ? await compileChain(config.default_filter_chain, ctx, `${path}.default_filter_chain`, secretNames) : undefined;
    if (chains.length === 0 && !defaultChain) throw new Error(`${path}.filter_chains: a listener needs at least one filter chain`);
    return { chains, defaultChain, inspect: inspector, secretNames };
  }

  /** The bound address once listening; before that (or with bind_to_port: false) the address it binds to. */
  get address(): { address: string; port: number } {
    const a = this.server?.address();
    if (a && typeof a === 'object') return { address: a.address, port: a.port };
    return { address: this.bindHost(), port: this.config.address.socket_address.port_value ?? 0 };
  }

  /** Whether the listener has a socket of its own (Envoy's bind_to_port, default true). */
  get bindsToPort(): boolean {
    return this.config.bind_to_port !== false;
  }

  /** The configured address, with a wildcard replaced by the instance IP when the proxy has one. */
  private bindHost(): string {
    const configured = this.config.address.socket_address.address;
    return this.ctx.instanceIp && WILDCARD_ADDRESSES.has(configured) ? this.ctx.instanceIp : configured;
  }

  private statName(): string {
    const a = this.config.address.socket_address;
    return `listener.${a.address}_${this.address.port || a.port_value || 0}`;
  }

  async start(): Promise<void> {
    if (!this.bindsToPort) return;
    const server = createServer({ pauseOnConnect: false, noDelay: true });
    server.on('connection', (socket) => this.onConnection(socket));
    const a = this.config.address.socket_address;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.bindHost(), port: a.port_value ?? 0, ipv6Only: a.ipv4_compat === false }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  private onConnection(socket: Socket): void {
    if (this.draining) return void socket.destroy();
    const stats = this.ctx.stats;
    const prefix = `${this.statName()}.`;
    const global = this.config.ignore_global_conn_limit ? undefined : this.ctx.globalConnections;
    if (global) {
      if (!global.tryAcquire()) {
        stats.counter(`${prefix}downstream_global_cx_overflow`).inc();
        return void socket.destroy();
      }
      socket.once('close', () => global.release());
    }
    stats.counter(`${prefix}downstream_cx_total`).inc();
    const active = stats.gauge(`${prefix}downstream_cx_active`);
    active.inc();
    this.sockets.add(socket);
    socket.once('close', () => {
      active.dec();
      this.sockets.delete(socket);
    });
    socket.on('error', () => undefined);
    const base = {
      id: nextConnectionId++,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? '',
      localPort: socket.localPort ?? 0,
    };
    if (!this.inspect) return this.dispatch(socket, { ...base, tls: false }, 'raw_buffer', undefined, []);
    // tls_inspector: read until the ClientHello is complete (or it is clearly not TLS), then replay.
    const reader = new ClientHelloReader();
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.off('data', onData);
      if (this.config.continue_on_listener_filters_timeout) proceed({ kind: 'not-tls' });
      else socket.destroy();
    }, durationMs(this.config.listener_filters_timeout) ?? 15_000);
    const proceed = (hello: ClientHelloResult) => {
      clearTimeout(timer);
      // A hello too large to inspect is refused, never passed on to a chain that matched without its SNI.
      if (hello.kind === 'too-large') {
        stats.counter('tls_inspector.client_hello_too_large').inc();
        return void socket.destroy();
      }
      const buffered = Buffer.concat(chunks);
      socket.pause();
      socket.unshift(buffered);
      if (hello.kind === 'tls' && hello.serverName !== undefined && !validServerName(hello.serverName)) {
        // CVE-2024-45808: an SNI that is no host name would reach logs and matchers as the client wrote it.
        stats.counter('tls_inspector.sni_invalid').inc();
        return void socket.destroy();
      }
      if (hello.kind === 'tls') {
        stats.counter('tls_inspector.tls_found').inc();
        if (hello.serverName) stats.counter('tls_inspector.sni_found').inc();
        this.dispatch(socket, { ...base, tls: false, preread: buffered }, 'tls', hello.serverName, hello.alpn);
      } else {
        stats.counter('tls_inspector.tls_not_found').inc();
        this.dispatch(socket, { ...base, tls: false, preread: buffered }, 'raw_buffer', undefined, []);
      }
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      const hello = reader.push(chunk);
      if (hello.kind === 'need-more') return;
      socket.off('data', onData);
      proceed(hello);
    };
    socket.on('data', onData);
  }

  private dispatch(socket: Socket, info: ConnectionInfo, transport: 'tls' | 'raw_buffer', serverName: string | undefined, alpn: readonly string[]): void {
    const chain = selectFilterChain(this.chains, {
      destinationPort: info.localPort,
      destinationIp: info.localAddress,
      sourceIp: info.remoteAddress,
      sourcePort: info.remotePort,
      ...(serverName ? { serverName } : {}),
      transportProtocol: transport,
      applicationProtocols: alpn,
    }) ?? this.defaultChain;
    const withSni: ConnectionInfo = {
      ...info, listenerName: this.name, ...(chain?.name ? { filterChainName: chain.name } : {}), ...(serverName ? { serverName } : {}), ...(alpn.length ? { clientAlpn: alpn } : {}),
    };
    if (!chain) {
      this.ctx.stats.counter(`${this.statName()}.no_filter_chain_match`).inc();
      this.refused(withSni, ['NR'], `no filter chain matches${serverName ? ` SNI "${serverName}"` : ' (no SNI)'} on listener ${this.name}`);
      return void socket.destroy();
    }
    if (!chain.tls || !chain.tlsServer) return this.runFilters(chain, socket, withSni);
    // The chain's tls.Server does the handshake (and client certificate checks) on this connection.
    this.pendingTls.set(`${info.remoteAddress}:${info.remotePort}`, { chain, info: withSni });
    socket.once('close', () => this.pendingTls.delete(`${info.remoteAddress}:${info.remotePort}`));
    if (this.ctx.trace?.enabled) this.handshaking.set(socket, withSni);
    chain.tlsServer.emit('connection', socket);
  }

  /** Wires a chain's tls.Server: a finished handshake continues with the chain's filters. */
  private watchTls(chain: CompiledChain): void {
    const server = chain.tlsServer;
    const tls = chain.tls;
    if (!server || !tls) return;
    server.on('secureConnection', (tlsSocket: TLSSocket) => {
      const key = `${tlsSocket.remoteAddress}:${tlsSocket.remotePort}`;
      const pending = this.pendingTls.get(key);
      this.pendingTls.delete(key);
      if (!pending) return void tlsSocket.destroy();
      const failure = tls.verifyPeer(tlsSocket);
      if (failure) {
        this.ctx.stats.counter(`${this.statName()}.ssl.fail_verify_error`).inc();
        this.refused({ ...pending.info, downstreamTls: tlsDetails(tlsSocket, pending.info.serverName) }, [], `downstream TLS: ${failure}`);
        this.ctx.logger?.debug({ remote: key, failure }, 'TLS peer refused');
        return void tlsSocket.destroy();
      }
      this.ctx.stats.counter(`${this.statName()}.ssl.handshake`).inc();
      const peer = tlsSocket.getPeerCertificate();
      const presented = peer && Object.keys(peer).length ? peer : undefined;
      const uri = peerUriSan(presented);
      const servername = (tlsSocket as TLSSocket & { servername?: string | false }).servername;
      const negotiated = tlsSocket.alpnProtocol;
      const sni = typeof servername === 'string' ? servername : pending.info.serverName;
      this.runFilters(chain, tlsSocket, {
        ...(this.ctx.trace?.enabled ? { downstreamTls: tlsDetails(tlsSocket, sni) } : {}),
        ...pending.info,
        tls: true,
        ...(typeof servername === 'string' ? { serverName: servername } : {}),
        ...(typeof negotiated === 'string' ? { negotiatedAlpn: negotiated } : {}),
        ...(uri ? { peerUriSan: uri } : {}),
        ...(presented ? { peerIdentity: peerIdentity(presented), clientCertificate: clientCertificate(tlsSocket, presented) } : {}),
        tlsVersion: tlsSocket.getProtocol() ?? '',
      });
    });
    server.on('tlsClientError', (err: Error, tlsSocket: TLSSocket) => {
      this.ctx.stats.counter(`${this.statName()}.ssl.connection_error`).inc();
      this.ctx.logger?.debug({ remote: tlsSocket.remoteAddress, err: err.message }, 'TLS handshake failed');
      // A peer that hung up has no address any more: find the connection by the socket the TLS socket wraps.
      const raw = (tlsSocket as TLSSocket & { _parent?: Socket })._parent;
      const info = (raw ? this.handshaking.get(raw) : undefined) ?? this.pendingTls.get(`${tlsSocket.remoteAddress}:${tlsSocket.remotePort}`)?.info;
      if (info) this.refused(info, [], `downstream TLS handshake failed: ${err.message}`);
      tlsSocket.destroy();
    });
  }

  /** A connection refused before any network filter saw it: the trace recorder keeps why. */
  private refused(info: ConnectionInfo, flags: string[], error: string): void {
    const trace = this.ctx.trace;
    if (!trace?.enabled) return;
    trace.record({
      kind: 'listener',
      startMs: Date.now(),
      durationMs: 0,
      listener: this.name,
      ...(info.filterChainName ? { filterChain: info.filterChainName } : {}),
      downstreamRemoteAddress: `${info.remoteAddress}:${info.remotePort}`,
      downstreamLocalAddress: `${info.localAddress}:${info.localPort}`,
      ...(info.serverName ? { downstreamSni: info.serverName } : {}),
      ...(info.downstreamTls ? { downstreamTls: info.downstreamTls } : {}),
      responseCode: 0,
      responseFlags: flags,
      error,
    });
  }

  private runFilters(chain: CompiledChain, socket: Socket | TLSSocket, info: ConnectionInfo): void {
    let current: ConnectionInfo = info;
    for (const filter of chain.filters) {
      if (filter.kind === 'info') current = filter.apply(current);
      else if (filter.kind === 'gate') {
        const verdict = filter.admit(current, socket);
        if (verdict === 'closing') return;
        if (!verdict) return void socket.destroy();
      } else return filter.handle(socket, current);
    }
  }

  /** Stops accepting; with a drain time, waits for open connections to finish before closing them. */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    // close() stops accepting at once; its callback waits for every open connection, so destroy
    // the ones still open after the drain time before waiting for it.
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    const deadline = Date.now() + timeoutMs;
    while (this.sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const s of this.sockets) s.destroy();
    await closed;
    const filters = [...this.chains.map((c) => c.value), ...(this.defaultChain ? [this.defaultChain] : [])].flatMap((c) => c.filters);
    await Promise.all(filters.map((f) => (f.kind === 'terminal' ? f.close() : undefined)));
  }

  connectionCount(): number {
    return this.sockets.size;
  }
}
