/**
 * PeerAuthentication (security.istio.io) as Istio resolves it for one workload: the mesh-wide policy
 * (root namespace, no selector), the namespace policy (no selector), the workload policy (selector
 * matching the proxy's labels), most specific first, an UNSET mode inheriting from the level above,
 * and the workload policy's portLevelMtls for one inbound (container) port. PERMISSIVE when nothing
 * says otherwise.
 */
import type { MutualTlsMode, PeerAuthentication, ProxyNode } from './input.js';
import { labelsMatch } from './scope.js';
import { resourceRef } from './warnings.js';
import type { WarningSink } from './warnings.js';

/** What an inbound port accepts: STRICT mTLS only, PERMISSIVE mTLS and plaintext, DISABLE plaintext only. */
export type EffectiveMtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

export interface PeerAuthenticationPolicy {
  /** The mode of a port that no portLevelMtls names. */
  readonly mode: EffectiveMtlsMode;
  /** The mode of one inbound port. */
  modeFor(port: number): EffectiveMtlsMode;
}

const nsOf = (pa: PeerAuthentication) => pa.metadata.namespace ?? 'default';

/**
 * Istio picks the oldest policy when several apply at one level; the config model carries no
 * creation time, so the first by name stands in for it (and the others are reported).
 */
function pick(candidates: PeerAuthentication[], level: string, warn: WarningSink): PeerAuthentication | undefined {
  const sorted = [...candidates].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  const [first, ...ignored] = sorted;
  for (const pa of ignored) {
    warn(resourceRef('PeerAuthentication', nsOf(pa), pa.metadata.name), `more than one ${level} PeerAuthentication applies; ${first?.metadata.name} is used, this one is ignored`);
  }
  return first;
}

const set = (mode: MutualTlsMode | undefined): EffectiveMtlsMode | undefined => (mode === undefined || mode === 'UNSET' ? undefined : mode);

export function peerAuthenticationFor(policies: readonly PeerAuthentication[], proxy: ProxyNode, rootNamespace: string, warn: WarningSink): PeerAuthenticationPolicy {
  const unselected = (pa: PeerAuthentication) => !pa.spec.selector?.matchLabels || Object.keys(pa.spec.selector.matchLabels).length === 0;
  const mesh = pick(policies.filter((pa) => nsOf(pa) === rootNamespace && unselected(pa)), 'mesh-wide', warn);
  const namespace = proxy.namespace === rootNamespace ? undefined : pick(policies.filter((pa) => nsOf(pa) === proxy.namespace && unselected(pa)), 'namespace', warn);
  const workload = pick(policies.filter((pa) => nsOf(pa) === proxy.namespace && !unselected(pa) && labelsMatch(pa.spec.selector?.matchLabels, proxy.labels)), 'workload', warn);

  const inherited = set(namespace?.spec.mtls?.mode) ?? set(mesh?.spec.mtls?.mode) ?? 'PERMISSIVE';
  const mode = set(workload?.spec.mtls?.mode) ?? inherited;
  const portLevel = workload?.spec.portLevelMtls ?? {};
  if (namespace?.spec.portLevelMtls || mesh?.spec.portLevelMtls) {
    const pa = (namespace?.spec.portLevelMtls ? namespace : mesh) as PeerAuthentication;
    warn(resourceRef('PeerAuthentication', nsOf(pa), pa.metadata.name), 'portLevelMtls needs a workload selector; it is ignored');
  }
  return {
    mode,
    modeFor: (port) => set(portLevel[String(port)]?.mode) ?? mode,
  };
}
