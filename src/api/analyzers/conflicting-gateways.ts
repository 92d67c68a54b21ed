/**
 * Two Gateways that configure the same proxies with the same port and overlapping hosts: which one wins
 * is undefined (istioctl: gateway.ConflictingGatewayAnalyzer). Proxies are "the same" when the selectors
 * are equal or, when the gateway workloads are known, when both select one of them.
 */
import { formatSelector, hostsMatch, selectorMatches } from '../hosts.js';
import type { AnalysisMessage, GatewayResource } from '../types.js';
import type { AnalysisContext, Analyzer } from './context.js';
import { createMessage, MESSAGES } from './messages.js';

/** A server host without its "namespace/" part. */
function dnsName(host: string): string {
  const slash = host.indexOf('/');
  return slash < 0 ? host : host.slice(slash + 1);
}

function sameProxies(context: AnalysisContext, a: GatewayResource, b: GatewayResource): boolean {
  if (formatSelector(a.spec.selector) === formatSelector(b.spec.selector)) return true;
  return (context.options.gatewayWorkloads ?? []).some((w) => selectorMatches(a.spec.selector, w.labels) && selectorMatches(b.spec.selector, w.labels));
}

export const conflictingGateways: Analyzer = {
  name: 'gateway.conflictinggateways',
  description: 'Gateways on the same proxies do not claim the same port and host',
  analyze(context) {
    const messages: AnalysisMessage[] = [];
    const gateways = context.snapshot.gateways;
    for (const gw of gateways) {
      for (const other of gateways) {
        if (other === gw || !sameProxies(context, gw, other)) continue;
        // Unvalidated input may lack required fields; skip rather than throw.
        for (const [i, server] of (gw.spec.servers ?? []).entries()) {
          for (const theirs of other.spec.servers ?? []) {
            if (server.port?.number === undefined || server.port.number !== theirs.port?.number) continue;
            const shared = (server.hosts ?? []).map(dnsName).filter((h) => (theirs.hosts ?? []).map(dnsName).some((t) => hostsMatch(h, t)));
            if (shared.length === 0) continue;
            messages.push(createMessage(MESSAGES.ConflictingGateways, gw,
              `Conflict with gateways ${other.metadata.namespace}/${other.metadata.name} (workload selector ${formatSelector(gw.spec.selector)}, port ${server.port.number}, hosts ${shared.join(', ')}).`,
              ['spec', 'servers', i]));
          }
        }
      }
    }
    return messages;
  },
};
