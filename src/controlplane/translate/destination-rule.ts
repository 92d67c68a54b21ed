/**
 * Which DestinationRule applies to a host for a proxy, and the traffic policy it gives a port and subset.
 * Lookup order as Istio's: the proxy's namespace (rules selecting the proxy first), then the service's
 * namespace, then the root namespace; within one, the most specific host wins.
 */
import { mostSpecificHost, resolveShortName } from './hosts.js';
import type { ClientTlsSettings, ConnectionPoolSettings, DestinationRule, LoadBalancerSettings, OutlierDetectionSettings, ProxyNode, TrafficPolicy } from './input.js';
import { isExportedTo, labelsMatch } from './scope.js';

export interface DestinationRuleIndex {
  readonly rules: readonly DestinationRule[];
  readonly rootNamespace: string;
  readonly domainSuffix: string;
}

function ruleHost(rule: DestinationRule, domainSuffix: string): string {
  return resolveShortName(rule.spec.host, rule.metadata.namespace ?? 'default', domainSuffix);
}

function mostSpecific(rules: readonly DestinationRule[], host: string, domainSuffix: string): DestinationRule | undefined {
  const best = mostSpecificHost(host, rules.map((r) => ruleHost(r, domainSuffix)));
  return best === undefined ? undefined : rules.find((r) => ruleHost(r, domainSuffix) === best);
}

export function destinationRuleFor(index: DestinationRuleIndex, proxy: ProxyNode, host: string, serviceNamespace?: string): DestinationRule | undefined {
  const ns = (r: DestinationRule): string => r.metadata.namespace ?? 'default';
  const local = index.rules.filter((r) => ns(r) === proxy.namespace && isExportedTo(r.spec.exportTo, ns(r), proxy.namespace));
  const selecting = local.filter((r) => r.spec.workloadSelector && labelsMatch(r.spec.workloadSelector.matchLabels, proxy.labels));
  const tiers: DestinationRule[][] = [selecting, local.filter((r) => !r.spec.workloadSelector)];
  for (const other of [serviceNamespace, index.rootNamespace]) {
    if (other === undefined || other === proxy.namespace) continue;
    tiers.push(index.rules.filter((r) => ns(r) === other && !r.spec.workloadSelector && isExportedTo(r.spec.exportTo, other, proxy.namespace)));
  }
  for (const tier of tiers) {
    const found = mostSpecific(tier, host, index.domainSuffix);
    if (found) return found;
  }
  return undefined;
}

/** The parts of a TrafficPolicy that apply to one cluster. */
export interface EffectivePolicy {
  readonly connectionPool?: ConnectionPoolSettings;
  readonly outlierDetection?: OutlierDetectionSettings;
  readonly loadBalancer?: LoadBalancerSettings;
  readonly tls?: ClientTlsSettings;
}

function portLevel(policy: TrafficPolicy, port: number): EffectivePolicy | undefined {
  const pls = policy.portLevelSettings?.find((p) => p.port?.number === port);
  if (!pls) return undefined;
  return { connectionPool: pls.connectionPool, outlierDetection: pls.outlierDetection, loadBalancer: pls.loadBalancer, tls: pls.tls };
}

/**
 * Port-level settings replace the destination-level ones wholesale (a field the port level omits gets
 * its default, it is not inherited), as Istio merges them.
 */
export function policyForPort(policy: TrafficPolicy | undefined, port: number): { policy: EffectivePolicy; portLevel: boolean } {
  if (!policy) return { policy: {}, portLevel: false };
  const pls = portLevel(policy, port);
  if (pls) return { policy: pls, portLevel: true };
  return {
    policy: { connectionPool: policy.connectionPool, outlierDetection: policy.outlierDetection, loadBalancer: policy.loadBalancer, tls: policy.tls },
    portLevel: false,
  };
}

/** A subset's policy overrides the rule's field by field; the subset's own port-level settings replace all. */
export function policyForSubset(rulePolicy: TrafficPolicy | undefined, subsetPolicy: TrafficPolicy | undefined, port: number): EffectivePolicy {
  const base = policyForPort(rulePolicy, port).policy;
  if (!subsetPolicy) return base;
  const { policy: sub, portLevel: replace } = policyForPort(subsetPolicy, port);
  const pick = <K extends keyof EffectivePolicy>(k: K): EffectivePolicy[K] => (replace || sub[k] !== undefined ? sub[k] : base[k]);
  return { connectionPool: pick('connectionPool'), outlierDetection: pick('outlierDetection'), loadBalancer: pick('loadBalancer'), tls: pick('tls') };
}
