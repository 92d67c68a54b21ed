/**
 * Destinations must name a service that exists: a ServiceEntry host (in any namespace; visibility is
 * exportto.ts' job) or a host the caller knows from elsewhere (AnalyzeOptions.knownHosts). Ports must
 * be ports of the ServiceEntry, and must be given when it has several (istioctl: DestinationHostAnalyzer).
 */
import { resolveHost } from '../hosts.js';
import type { AnalysisMessage } from '../types.js';
import type { Analyzer } from './context.js';
import { destinationsOf, isKnownHost, serviceEntriesFor } from './context.js';
import { createMessage, MESSAGES, referencedNotFound } from './messages.js';

export const destinationHosts: Analyzer = {
  name: 'virtualservice.destinationhosts',
  description: 'VirtualService destinations name a known host and port',
  analyze(context) {
    const messages: AnalysisMessage[] = [];
    for (const vs of context.snapshot.virtualServices) {
      for (const { destination, path } of destinationsOf(vs)) {
        const host = resolveHost(destination.host, vs.metadata.namespace, context.domainSuffix);
        const entries = serviceEntriesFor(context, host);
        if (entries.length === 0) {
          if (!isKnownHost(context, host)) messages.push(referencedNotFound(vs, 'host', host, [...path, 'host']));
          continue;
        }
        const ports = [...new Set(entries.flatMap((se) => (se.spec.ports ?? []).map((p) => p.number)))].sort((a, b) => a - b);
        const port = destination.port?.number;
        if (port !== undefined && !ports.includes(port)) {
          messages.push(referencedNotFound(vs, 'host:port', `${host}:${port}`, [...path, 'port', 'number'], `ports defined: ${ports.join(', ') || 'none'}`));
        } else if (port === undefined && ports.length > 1) {
          messages.push(createMessage(MESSAGES.VirtualServiceDestinationPortSelectorRequired, vs,
            `This VirtualService routes to a service ${JSON.stringify(host)} that exposes multiple ports [${ports.join(' ')}]. Specifying a port in the destination is required to disambiguate.`, path));
        }
      }
    }
    return messages;
  },
};
