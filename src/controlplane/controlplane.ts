import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CertificateValidationContext, XdsNode } from '../envoy/index.js';
import { TYPE_URL } from '../envoy/index.js';
import { IstioCaServer, issueBootstrapToken, parseSpiffeId } from '../pki/index.js';
import type { CertificateAuthority } from '../pki/index.js';
import { startManagementServer } from './management/index.js';
import type { ManagementServer, ServiceView } from './management/index.js';
import { MeshCertificateAuthorities } from './mesh-ca.js';
import { proxyDisplayName, proxyNodeOf } from './node.js';
import { revisionRefusal } from './revision.js';
import type { RevisionRefusal } from './revision.js';
import { meshServicesOf } from './registry/index.js';
import { sdsSecrets } from './secrets.js';
import { createFileStore } from './store/index.js';
import { federatedBundles, federatedTrustDomains, loadFederationFlags, rootCaValidation } from './federation.js';
import type { FederatedBundle } from './federation.js';
import { loadClientTrust } from './trust.js';
import { XdsTlsEndpoint } from './xds-tls.js';
import type { ClientTrust } from './trust.js';
import type { ConfigStore } from './store/index.js';
import { buildServiceRegistry, meshConfigOf, translate } from './translate/index.js';
import type { ConfigSnapshot, MeshService, ProxyNode, TranslateOptions, TranslateResult } from './translate/index.js';
import { proxyConfigView, proxyStatusRows, serviceViews } from './views.js';
import { Snapshot, SnapshotCache, XdsError, XdsServer } from './xds/index.js';

export interface ControlPlaneOptions {
  readonly stateDir: string;
  readonly configDir?: string;
  readonly trustDomain?: string;
  /** Trust domain of the VM intermediate (identities handed to VMs); the mesh's when absent. */
  readonly vmTrustDomain?: string;
  /** host:port for plaintext ADS (Istio: 15010); "off" (or "") turns the plaintext port off. */
  readonly xdsAddress?: string;
  /**
   * host:port for ADS over TLS (Istio: 15012): a server certificate from the mesh CA, and callers
   * authenticated by their workload certificate or a bootstrap token; off when undefined.
   */
  readonly xdsTlsAddress?: string;
  /** host:port of the management API (apply/get/delete, proxy-status, proxy-config). */
  readonly managementAddress?: string;
  /** host:port of the CSR-signing service (Istio: 15012); off when undefined. */
  readonly caAddress?: string;
  readonly managementToken?: string;
  /** Istio's pilot settings (PILOT_FILTER_GATEWAY_CLUSTER_CONFIG, VERIFY_CERTIFICATE_AT_CLIENT, ...). */
  readonly translate?: TranslateOptions;
  /**
   * PEM files of extra roots that TLS origination without caCertificates trusts besides the system bundle
   * (with translate.verifyCertificateAtClient); read at start.
   */
  readonly extraTrustedRootsFiles?: readonly string[];
  /** `--federate TD=bundle.pem` values: other trust domains' roots, read at start (see federation.ts). */
  readonly federate?: readonly string[];
  /** The name proxy-status prints in its ISTIOD column (default `istiod-<revision>`, or `istiod`). */
  readonly name?: string;
  /**
   * Istio's revision (`-r 1-17`): only proxies labelled `istio.io/rev=<revision>` are served. Several
   * revisions may share one config dir; each keeps its own state dir.
   */
  readonly revision?: string;
  /** Also serve proxies without an `istio.io/rev` label (always true without a revision). */
  readonly defaultRevision?: boolean;
  readonly logger?: Logger;
}

interface ConnectedProxy {
  node: XdsNode;
  proxy: ProxyNode;
  /**
   * The live xDS streams of this node id, newest last. Usually one; two while a proxy that restarted
   * (same node id) is connected and the control plane has not yet seen its predecessor's stream end.
   */
  readonly connections: string[];
  result?: TranslateResult;
}

/**
 * One mesh's control plane (the istiod role): the config store feeds translation per connected
 * proxy; snapshots go to the ADS server; the CA signs workload certificates; the management API
 * takes apply/get/delete and answers proxy-status and proxy-config.
 */
export class ControlPlane {
  readonly cache = new SnapshotCache({ debounceMs: 50, maxDelayMs: 500 });
  readonly xds: XdsServer;
  store!: ConfigStore;
  authorities!: MeshCertificateAuthorities;
  management!: ManagementServer;
  private caServer: IstioCaServer | undefined;
  private readonly proxies = new Map<string, ConnectedProxy>();
  private xdsPort = 0;
  private xdsTlsPort = 0;
  private xdsTls: XdsTlsEndpoint | undefined;
  private unwatch: (() => void) | undefined;

  constructor(private readonly options: ControlPlaneOptions) {
    this.xds = new XdsServer({
      cache: this.cache,
      controlPlaneId: this.name,
      onNodeConnected: (node, connection) => this.onConnected(node, connection.connectionId, connection.peer),
      onNodeDisconnected: (node, connection) => this.onDisconnected(node, connection.connectionId),
      onRefused: ({ nodeId, peer, error }) => this.remember({ proxyRevision: undefined, reason: error.message, hint: error.hint ?? '' }, nodeId ?? '', peer),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  get name(): string {
    return this.options.name ?? `istiod${this.options.revision ? `-${this.options.revision}` : ''}`;
  }

  get revision(): string | undefined {
    return this.options.revision;
  }

  /** Whether proxies without an istio.io/rev label are served here. */
  get isDefaultRevision(): boolean {
    return this.options.revision === undefined || this.options.defaultRevision === true;
  }

  /** Proxies refused lately because of their revision, newest last (proxy-status shows them apart). */
  readonly refused: Array<RevisionRefusal & { readonly nodeId: string; readonly peer: string; readonly at: Date }> = [];

  /** xds is 0 when the plaintext port is off. */
  get ports(): { xds: number; management: number; ca?: number; xdsTls?: number } {
    return { xds: this.xdsPort, management: this.management.port, ...(this.caServer ? { ca: this.caServer.port } : {}), ...(this.xdsTls ? { xdsTls: this.xdsTlsPort } : {}) };
  }

  /** Whether plaintext ADS is served (Istio's 15010). */
  get plaintextXds(): boolean {
    return !isOff(this.options.xdsAddress);
  }

  private clientTrust: ClientTrust | undefined;
  private federationFlags: FederatedBundle[] = [];

  /** The mesh CA's trust domains: the mesh's, and the VM intermediate's when it has its own. */
  private ownTrustDomains(): string[] {
    return [...new Set([this.authorities.trustDomain, this.authorities.vm.trustDomain])];
  }

  /** Federation in force for a config snapshot: ROOTCA's validation and the federated trust domains. */
  private federation(config: ConfigSnapshot): { rootValidation?: CertificateValidationContext; trustDomains: string[] } {
    const bundles = federatedBundles(meshConfigOf(config), this.federationFlags);
    if (bundles.length === 0) return { trustDomains: [] };
    const own = this.ownTrustDomains();
    const { validation, ignored } = rootCaValidation(this.authorities.rootsPem(), own, bundles);
    for (const b of ignored) this.options.logger?.warn({ source: b.source, trustDomain: b.trustDomain }, 'a federated bundle names the mesh\'s own trust domain; the mesh CA alone verifies it, the bundle is ignored');
    return { rootValidation: validation, trustDomains: federatedTrustDomains(bundles, own) };
  }

  async start(): Promise<void> {
    if (this.options.extraTrustedRootsFiles?.length) {
      this.clientTrust = await loadClientTrust(this.options.extraTrustedRootsFiles, this.options.translate?.systemCaBundlePath);
      for (const warning of this.clientTrust.warnings) this.options.logger?.warn(warning);
      if (!this.options.translate?.verifyCertificateAtClient) {
        this.options.logger?.warn('extra trusted roots are used only where TLS origination verifies at the client: add --verify-certificate-at-client (or meshConfig verifyCertificateAtClient)');
      }
    }
    this.federationFlags = await loadFederationFlags(this.options.federate ?? []);
    this.authorities = await MeshCertificateAuthorities.open(this.options.stateDir, {
      ...(this.options.trustDomain ? { trustDomain: this.options.trustDomain } : {}),
      ...(this.options.vmTrustDomain ? { vmTrustDomain: this.options.vmTrustDomain } : {}),
    });
    this.store = await createFileStore({ stateDir: this.options.stateDir, ...(this.options.configDir ? { configDir: this.options.configDir } : {}), ...(this.options.logger ? { logger: this.options.logger } : {}) });
    this.unwatch = this.store.watch(() => {
      this.refreshServices();
      this.pushAll();
    });
    this.refreshServices();
    if (this.plaintextXds) this.xdsPort = await this.xds.listen(this.options.xdsAddress ?? '127.0.0.1:15010', grpc.ServerCredentials.createInsecure());
    if (this.options.xdsTlsAddress) {
      this.xdsTls = await XdsTlsEndpoint.start(this.authorities, this.options.logger);
      this.xdsTlsPort = await this.xds.listen(this.options.xdsTlsAddress, this.xdsTls.credentials.credentials, this.xdsTls.authenticate);
    }
    if (this.options.caAddress) await this.startCaServer(splitAddress(this.options.caAddress));
    const [mHost, mPort] = splitAddress(this.options.managementAddress ?? '127.0.0.1:15014');
    this.management = await startManagementServer({
      store: this.store,
      host: mHost,
      port: mPort,
      ...(this.options.managementToken ? { token: this.options.managementToken } : {}),
      providers: {
        proxyStatus: () => this.proxyStatus(),
        refusedProxies: () => this.refusedProxies(),
        proxyConfig: ({ proxy, type }) => this.proxyConfig(proxy, type),
        ca: {
          roots: () => ({ trustDomain: this.authorities.trustDomain, vmTrustDomain: this.authorities.vm.trustDomain, rootsPem: this.authorities.rootsPem() }),
          issue: (request) => this.authorities.issue(request.authority ?? 'mesh', {
            spiffeId: request.spiffeId,
            ...(request.dnsNames ? { dnsNames: request.dnsNames } : {}),
            ...(request.ttlMs ? { ttlMs: request.ttlMs } : {}),
          }),
          rotateRoot: () => this.rotateRoot(),
          token: async (request) => {
            // The VM authority when asked, or when the identity is in the VM trust domain.
            const authority = request.authority ?? (parseSpiffeId(request.spiffeId).trustDomain === this.authorities.vm.trustDomain ? 'vm' : 'mesh');
            const ttlMs = request.ttlMs ?? 3_600_000;
            const token = await issueBootstrapToken(this.authorities.authority(authority), request.spiffeId, ttlMs);
            return { spiffeId: request.spiffeId, authority, token, expiresAt: new Date(Date.now() + ttlMs).toISOString() };
          },
        },
        addresses: () => {
          const xdsHost = splitAddress(this.options.xdsAddress ?? '127.0.0.1:15010')[0];
          const caHost = splitAddress(this.options.caAddress ?? '127.0.0.1:0')[0];
          const tlsHost = splitAddress(this.options.xdsTlsAddress ?? '127.0.0.1:0')[0];
          return {
            ...(this.plaintextXds ? { xds: `${xdsHost}:${this.xdsPort}` } : {}),
            ...(this.xdsTls ? { xdsTls: `${tlsHost}:${this.xdsTlsPort}` } : {}),
            ...(this.caServer ? { ca: `${caHost}:${this.caServer.port}` } : {}),
          };
        },
        services: () => this.services(),
      },
      ...(this.options.logger ? { logger: this.options.logger } : {}),
    });
  }

  async stop(): Promise<void> {
    this.unwatch?.();
    await this.management?.close();
    await this.caServer?.stop();
    this.xdsTls?.stop();
    await this.xds.close();
    this.cache.close();
    await this.store?.close();
  }

  /** The mesh intermediate: it signs the workload certificates of the mesh. */
  get ca(): CertificateAuthority {
    return this.authorities.mesh;
  }

  private async startCaServer([host, port]: [string, number]): Promise<void> {
    // The VM intermediate signs for VMs (a token from POST /v1/ca/tokens, or the certificate it issued).
    // Intermediates retired by a root rotation still vouch for the certificates they issued until those renew.
    this.caServer = new IstioCaServer({
      authority: this.authorities.mesh, extraAuthorities: [this.authorities.vm], roots: this.authorities.roots(), intermediates: this.authorities.retiredIntermediates(),
      host, port, ...(this.options.logger ? { logger: this.options.logger } : {}),
    });
    await this.caServer.start();
  }

  /**
   * A new root (and intermediates); both roots stay in the trust bundle that ROOTCA and the CA service
   * hand out, so certificates from before and after verify until the rotation is finished.
   */
  private async rotateRoot(): Promise<{ previous: string; current: string; rootsPem: string }> {
    const fingerprints = await this.authorities.rotateRoot();
    if (this.caServer) {
      const port = this.caServer.port;
      const host = splitAddress(this.options.caAddress ?? '').at(0) as string;
      await this.caServer.stop();
      await this.startCaServer([host, port]);
    }
    // The xDS TLS port presents a certificate of the new hierarchy and trusts both roots.
    await this.xdsTls?.refresh();
    this.caGeneration += 1;
    this.pushAll();
    return { ...fingerprints, rootsPem: this.authorities.rootsPem() };
  }

  private async onConnected(node: XdsNode, connectionId: string, peer: string): Promise<void> {
    const proxy = proxyNodeOf(node);
    const refusal = revisionRefusal(proxy.labels ?? {}, { revision: this.options.revision, defaultRevision: this.isDefaultRevision }, this.name);
    if (refusal) {
      this.options.logger?.warn({ node: proxy.id, peer, proxyRevision: refusal.proxyRevision ?? null, revision: this.options.revision ?? null, hint: refusal.hint }, `proxy refused: ${refusal.reason}`);
      this.remember(refusal, proxy.id, peer);
      throw new XdsError('ERR_XDS_WRONG_REVISION', refusal.reason, { hint: refusal.hint });
    }
    // The newest stream's node wins (a restarted proxy may come back with other labels or an other IP);
    // the entry lives as long as any stream of the node id does.
    const existing = this.proxies.get(proxy.id);
    if (existing) {
      existing.node = node;
      existing.proxy = proxy;
      existing.connections.push(connectionId);
    } else {
      this.proxies.set(proxy.id, { node, proxy, connections: [connectionId] });
    }
    // A new pod of a Service changes every proxy's endpoints of it, not only its own config.
    if (this.refreshServices()) this.pushAll();
    else this.push(proxy.id, this.sharedFor(this.sharedVersion()));
  }

  /**
   * Ends one stream. Keyed by the stream, not by the node id: when a proxy restarts with the same node id,
   * the end of its predecessor's stream can arrive after the new stream connected (a SIGKILLed process,
   * a peer that vanished without FIN, a load balancer in between). Deleting by node id then dropped the
   * new proxy: no more pushes, no proxy-config, no endpoints, while it kept its first snapshot.
   */
  private onDisconnected(node: XdsNode, connectionId: string): void {
    const id = node.id ?? '';
    const entry = this.proxies.get(id);
    if (!entry) return;
    const i = entry.connections.indexOf(connectionId);
    if (i < 0) return;
    entry.connections.splice(i, 1);
    if (entry.connections.length > 0) return;
    this.proxies.delete(id);
    this.cache.clearSnapshot(id);
    if (this.refreshServices()) this.pushAll();
  }

  /** Kubernetes Services with the connected proxies they select as endpoints; what translation gets as meshServices. */
  private meshServices: MeshService[] = [];
  private meshServicesJson = '[]';
  /** Bumped whenever meshServices change, so that translations shared per config version are not reused across it. */
  private endpointsGeneration = 0;

  /** Recomputes the mesh services; true when they changed. */
  private refreshServices(): boolean {
    const services = this.store.snapshot().services;
    const next = meshServicesOf(services, [...this.proxies.values()].map((p) => p.proxy), this.options.translate?.domainSuffix ?? 'cluster.local');
    const json = JSON.stringify(next);
    if (json === this.meshServicesJson) return false;
    this.meshServices = next;
    this.meshServicesJson = json;
    this.endpointsGeneration++;
    return true;
  }

  private translateOptions(): TranslateOptions {
    const trust = this.clientTrust;
    const options: TranslateOptions = {
      trustDomain: this.authorities.trustDomain,
      ...this.options.translate,
      ...(trust ? { extraTrustedRoots: [...(this.options.translate?.extraTrustedRoots ?? []), ...trust.extraTrustedRoots] } : {}),
      ...(trust?.systemCaBundlePem !== undefined ? { systemCaBundlePem: trust.systemCaBundlePem } : {}),
    };
    if (this.meshServices.length === 0) return options;
    return { ...options, meshServices: [...(options.meshServices ?? []), ...this.meshServices] };
  }

  /** The key translations are shared under: the config version, the endpoints generation and the CA generation. */
  private sharedVersion(): string {
    return `${this.store.snapshot().version}/${this.endpointsGeneration}/ca${this.caGeneration}`;
  }

  /**
   * Proxies that look the same to translation (same role, namespace, labels, metadata) share one
   * translation and one encoded snapshot per config version: a change, or a thousand gateways
   * reconnecting, costs one translation per kind of proxy.
   */
  private shared = { version: '', byKey: new Map<string, { result: TranslateResult; snapshot: Snapshot | undefined }>() };

  /** Bumped by a root rotation: ROOTCA changes without a config change. */
  private caGeneration = 0;

  private sharedFor(version: string): Map<string, { result: TranslateResult; snapshot: Snapshot | undefined }> {
    if (this.shared.version !== version) this.shared = { version, byKey: new Map() };
    return this.shared.byKey;
  }

  private pushAll(): void {
    const shared = this.sharedFor(this.sharedVersion());
    for (const id of this.proxies.keys()) this.push(id, shared);
  }

  /** Translates the current config for one proxy and hands the snapshot to the ADS server. */
  private push(id: string, shared?: Map<string, { result: TranslateResult; snapshot: Snapshot | undefined }>): void {
    const connected = this.proxies.get(id);
    if (!connected) return;
    const key = equivalenceKey(connected.proxy);
    const reused = shared?.get(key);
    if (reused) {
      if (reused.snapshot) {
        this.cache.setSnapshot(id, reused.snapshot);
        connected.result = reused.result;
      }
      return;
    }
    const config = this.store.snapshot();
    const federation = this.federation(config);
    const options = this.translateOptions();
    const result = translate(config, connected.proxy, federation.trustDomains.length > 0 ? { ...options, federatedTrustDomains: federation.trustDomains } : options);
    const sds = sdsSecrets(result.secrets, config, connected.proxy.namespace, this.authorities.rootsPem(), federation.rootValidation);
    for (const w of result.warnings) this.options.logger?.debug({ proxy: id, ...w }, 'translation warning');
    if (sds.missing.length > 0) this.options.logger?.warn({ proxy: id, missing: sds.missing }, 'secrets referenced by the config are not in the store; listeners that need them stay warming');
    let snapshot: Snapshot | undefined;
    try {
      snapshot = new Snapshot({
        [TYPE_URL.cluster]: { resources: result.clusters as unknown as Record<string, unknown>[] },
        [TYPE_URL.clusterLoadAssignment]: { resources: result.endpoints as unknown as Record<string, unknown>[] },
        [TYPE_URL.listener]: { resources: result.listeners as unknown as Record<string, unknown>[] },
        [TYPE_URL.routeConfiguration]: { resources: result.routes as unknown as Record<string, unknown>[] },
        [TYPE_URL.secret]: { resources: sds.secrets as unknown as Record<string, unknown>[] },
      });
      this.cache.setSnapshot(id, snapshot);
      connected.result = result;
    } catch (err) {
      // A snapshot that does not encode never reaches a proxy; the last good one stays.
      this.options.logger?.error({ proxy: id, err: (err as Error).message }, 'snapshot refused; the proxy keeps its last good config');
    }
    shared?.set(key, { result, snapshot });
  }

  /** The service registry as translation sees it, for `isthmus get services` style listings and workflows. */
  services(): ServiceView[] {
    return serviceViews(buildServiceRegistry(this.store.snapshot(), this.translateOptions()).services);
  }

  proxyStatus(): unknown {
    return proxyStatusRows(this.xds.proxyStatus(), { name: this.name, revision: this.options.revision });
  }

  private remember(refusal: RevisionRefusal, nodeId: string, peer: string): void {
    this.refused.push({ ...refusal, nodeId, peer, at: new Date() });
    if (this.refused.length > REFUSED_KEPT) this.refused.splice(0, this.refused.length - REFUSED_KEPT);
  }

  /** The proxies refused lately (another revision, credentials, a node not its identity's) and not connected since, newest per node id first. */
  refusedProxies(): unknown {
    const latest = new Map<string, (typeof this.refused)[number]>();
    for (const r of this.refused) if (!this.proxies.has(r.nodeId)) latest.set(r.nodeId, r);
    return [...latest.values()].reverse().map((r) => ({
      // A caller whose credentials failed before it named its node is listed by its address.
      name: r.nodeId ? proxyDisplayName(r.nodeId) : `(unauthenticated ${r.peer})`,
      nodeId: r.nodeId,
      peer: r.peer,
      ...(r.proxyRevision ? { proxyRevision: r.proxyRevision } : {}),
      reason: r.reason,
      hint: r.hint,
      at: r.at.toISOString(),
    }));
  }

  /** istioctl proxy-config: rows and the Envoy JSON last sent to a proxy. */
  proxyConfig(proxy: string, type: string): unknown {
    const match = [...this.proxies.values()].find((p) => p.proxy.id === proxy || proxyDisplayName(p.proxy.id) === proxy || proxyDisplayName(p.proxy.id).startsWith(`${proxy}`));
    const result = match?.result;
    return match && result ? proxyConfigView(result, type) : undefined;
  }
}

/** How many refused proxies the control plane remembers for proxy-status. */
const REFUSED_KEPT = 50;

/** What translation reads of a proxy, minus its id: equal keys give equal Envoy config. */
function equivalenceKey(proxy: ProxyNode): string {
  // Translation reads the IP (DNS proxying binds VIP listeners beside it) and the admin address (the
  // 15021/15090 listeners forward to it), so both are part of the key; bare xDS clients share.
  const { id: _id, metadata, ...rest } = proxy;
  const { NAME: _n, POD_NAME: _p, INSTANCE_IPS: _i, ...meta } = metadata ?? {};
  return JSON.stringify({ ...rest, metadata: Object.fromEntries(Object.entries(meta).sort()) });
}

function isOff(address: string | undefined): boolean {
  return address !== undefined && (address === '' || address === 'off');
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i) || '127.0.0.1', Number(address.slice(i + 1))];
}
