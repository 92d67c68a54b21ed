/**
 * A subset named by a VirtualService destination must be defined by a DestinationRule for that host,
 * visible to the proxies that use the route (istioctl: virtualservice.DestinationRuleAnalyzer).
 */
import { hostSubsetOf, isExportedTo, resolveHost } from '../hosts.js';
import type { AnalysisMessage } from '../types.js';
import type { Analyzer } from './context.js';
import { destinationsOf, userNamespaces } from './context.js';
import { referencedNotFound } from './messages.js';

export const destinationSubsets: Analyzer = {
  name: 'virtualservice.destinationrules',
  description: 'VirtualService subsets are defined by a DestinationRule',
  analyze(context) {
    const messages: AnalysisMessage[] = [];
    for (const vs of context.snapshot.virtualServices) {
      for (const { destination, path, gateways } of destinationsOf(vs)) {
        if (!destination.subset) continue;
        const host = resolveHost(destination.host, vs.metadata.namespace, context.domainSuffix);
        const name = `${host}+${destination.subset}`;
        const defining = context.snapshot.destinationRules.filter(
          (dr) => hostSubsetOf(host, resolveHost(dr.spec.host ?? '', dr.metadata.namespace, context.domainSuffix)) && (dr.spec.subsets ?? []).some((s) => s.name === destination.subset),
        );
        const first = defining[0];
        if (!first) {
          messages.push(referencedNotFound(vs, 'host+subset in destinationrule', name, [...path, 'subset']));
          continue;
        }
        for (const ns of userNamespaces(context, vs, gateways)) {
          if (defining.some((dr) => isExportedTo(dr.spec.exportTo, dr.metadata.namespace, ns))) continue;
          messages.push(referencedNotFound(vs, 'host+subset in destinationrule', name, [...path, 'subset'],
            `DestinationRule ${first.metadata.namespace}/${first.metadata.name} defines it, but its exportTo [${(first.spec.exportTo ?? []).join(', ')}] does not include namespace ${JSON.stringify(ns)}`));
        }
      }
    }
    return messages;
  },
};
