/**
 * A Gateway's credentialName must name a usable Secret where the gateway's proxies run (istioctl:
 * gateway.SecretAnalyzer): missing -> IST0101, present but unusable -> IST0161 with what is wrong.
 */
import { extractTlsCredential } from '../secrets.js';
import { findSecret } from '../snapshot.js';
import type { AnalysisMessage } from '../types.js';
import type { Analyzer } from './context.js';
import { workloadsFor } from './context.js';
import { createMessage, MESSAGES, referencedNotFound } from './messages.js';

export const gatewaySecrets: Analyzer = {
  name: 'gateway.secrets',
  description: 'Gateway credentialName Secrets exist and hold a usable key, certificate (and CA)',
  analyze(context) {
    const messages: AnalysisMessage[] = [];
    for (const gw of context.snapshot.gateways) {
      const workloads = workloadsFor(context, gw);
      // The proxy reads the Secret from its own namespace; without known workloads, assume the Gateway's.
      const namespaces = workloads.length > 0 ? [...new Set(workloads.map((w) => w.namespace))].sort() : [gw.metadata.namespace];
      (gw.spec.servers ?? []).forEach((server, i) => {
        const tls = server.tls;
        const name = tls?.credentialName;
        if (!tls || !name || !['SIMPLE', 'MUTUAL', 'OPTIONAL_MUTUAL'].includes(tls.mode ?? '')) return;
        const path = ['spec', 'servers', i, 'tls', 'credentialName'];
        for (const ns of namespaces) {
          const secret = findSecret(context.snapshot, ns, name);
          if (!secret) {
            const detail = ns === gw.metadata.namespace ? undefined : `looked in namespace ${JSON.stringify(ns)}, where the gateway runs`;
            messages.push(referencedNotFound(gw, 'credentialName', name, path, detail));
            continue;
          }
          const caSecret = findSecret(context.snapshot, ns, `${name}-cacert`);
          const result = extractTlsCredential(secret, { use: tls.mode === 'SIMPLE' ? 'keyPair' : 'keyPairAndCa', ...(caSecret ? { caSecret } : {}) });
          if (!result.valid) {
            messages.push(createMessage(MESSAGES.InvalidGatewayCredential, gw,
              `The credential provided by the Gateway ${gw.metadata.name} in namespace ${gw.metadata.namespace} is invalid, which can cause traffic not to work as expected: ${result.message}`, path));
          }
        }
      });
    }
    return messages;
  },
};
