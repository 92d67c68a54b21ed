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

/** One lookup tier, indexed: exact hosts by name (first rule wins), wildcard hosts scanned. */
interface Tier {
  readonly exact: ReadonlyMap<string, DestinationRule>;
  readonly wildcards: ReadonlyArray<{ readonly host: string; readonly rule: DestinationRule }>;
}

function buildTier(rules: readonly DestinationRule[], domainSuffix: string): Tier {
  const exact = new Map<string, DestinationRule>();
  const wildcards: Array<{ host: string; rule: DestinationRule }> = [];
  for (const rule of rules) {
    const host = ruleHost(rule, domainSuffix);
    if (!exact.has(host)) exact.set(host, rule);
    if (host.startsWith('*')) wildcards.push({ host, rule });
  }
  return { exact, wildcards };
}

/** The most specific rule for a host: an exact host, else the longest wildcard that covers it. */
function mostSpecific(tier: Tier, host: string): DestinationRule | undefined {
  const exact = tier.exact.get(host);
  if (exact) return exact;
  let best: { host: string; rule: DestinationRule } | undefined;
  for (const w of tier.wildcards) {
    if (mostSpecificHost(host, [w.host]) === w.host && (best === undefined || w.host.length > best.host.length)) best = w;
  }
  return best?.rule;
}

/**
 * Tiers are built once per index and proxy view, not per service: with thousands of services and
 * rules, scanning every rule for every host was the largest cost of translation.
 */
const tierCache = new WeakMap<DestinationRuleIndex, Map<string, Tier>>();

function tierFor(index: DestinationRuleIndex, key: string, select: () => DestinationRule[]): Tier {
  let tiers = tierCache.get(index);
  if (!tiers) tierCache.set(index, (tiers = new Map()));
  let tier = tiers.get(key);
  if (!tier) tiers.set(key, (tier = buildTier(select(), index.domainSuffix)));
  return tier;
}

export function destinationRuleFor(index: DestinationRuleIndex, proxy: ProxyNode, host: string, serviceNamespace?: string): DestinationRule | undefined {
  const ns = (r: DestinationRule): string => r.metadata.namespace ?? 'default';
  const view = `${proxy.namespace}\0${JSON.stringify(proxy.labels ?? {})}`;
  const local = () => index.rules.filter((r) => ns(r) === proxy.namespace && isExportedTo(r.spec.exportTo, ns(r), proxy.namespace));
  const tiers: Tier[] = [
    tierFor(index, `selecting\0${view}`, () => local().filter((r) => r.spec.workloadSelector && labelsMatch(r.spec.workloadSelector.matchLabels, proxy.labels))),
    tierFor(index, `local\0${view}`, () => local().filter((r) => !r.spec.workloadSelector)),
  ];
  for (const other of [serviceNamespace, index.rootNamespace]) {
    if (other === undefined || other === proxy.namespace) continue;
    tiers.push(tierFor(index, `ns\0${other}\0${proxy.namespace}`, () =>
      index.rules.filter((r) => ns(r) === other && !r.spec.workloadSelector && isExportedTo(r.spec.exportTo, other, proxy.namespace))));
  }
  for (const tier of tiers) {
    const found = mostSpecific(tier, host);
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
