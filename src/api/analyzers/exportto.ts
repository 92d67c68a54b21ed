/**
 * exportTo that hides config from the proxies that use it: a route to a host whose ServiceEntries are
 * all exported elsewhere (Istio then reports the host as not found), a subset whose DestinationRule is
 * (see destination-subsets.ts), and a VirtualService bound to a gateway whose proxies its own exportTo
 * leaves out (the gateway never gets its routes).
 */
import { isExportedTo, resolveHost } from '../hosts.js';
import { findGateway } from '../snapshot.js';
import type { AnalysisMessage } from '../types.js';
import type { Analyzer } from './context.js';
import { destinationsOf, gatewayReferences, isKnownHost, serviceEntriesFor, userNamespaces } from './context.js';
import { createMessage, MESSAGES, referencedNotFound } from './messages.js';

function exportList(exportTo: readonly string[] | undefined): string {
  return `[${(exportTo ?? []).join(', ')}]`;
}

export const exportToVisibility: Analyzer = {
  name: 'exportto.visibility',
  description: 'exportTo does not hide a host or a VirtualService from the proxies that use it',
  analyze(context) {
    const messages: AnalysisMessage[] = [];
    for (const vs of context.snapshot.virtualServices) {
      for (const { destination, path, gateways } of destinationsOf(vs)) {
        const host = resolveHost(destination.host, vs.metadata.namespace, context.domainSuffix);
        const entries = serviceEntriesFor(context, host);
        if (entries.length === 0 || isKnownHost(context, host)) continue;
        for (const ns of userNamespaces(context, vs, gateways)) {
          if (entries.some((se) => isExportedTo(se.spec.exportTo, se.metadata.namespace, ns))) continue;
          const se = entries[0];
          if (!se) continue;
          messages.push(
            referencedNotFound(vs, 'host', host, [...path, 'host'],
              `ServiceEntry ${se.metadata.namespace}/${se.metadata.name} is exported to ${exportList(se.spec.exportTo)}, which does not include namespace ${JSON.stringify(ns)}`),
          );
        }
      }
      for (const ref of gatewayReferences(vs)) {
        if (!findGateway(context.snapshot, ref.namespace, ref.name)) continue; // virtualservice.gateways reports it
        for (const ns of userNamespaces(context, vs, [ref.ref])) {
          if (isExportedTo(vs.spec.exportTo, vs.metadata.namespace, ns)) continue;
          messages.push(
            createMessage(MESSAGES.VirtualServiceNotVisibleToGateway, vs,
              `VirtualService is bound to Gateway ${ref.namespace}/${ref.name} but its exportTo ${exportList(vs.spec.exportTo)} does not include namespace ${JSON.stringify(ns)}, where the gateway runs, so the gateway ignores it`,
              ['spec', 'exportTo']),
          );
        }
      }
    }
    return messages;
  },
};
