/**
 * Upstream TLS settings a proxy cannot use as written:
 * - MUTUAL without a client certificate (no credentialName, no clientCertificate/privateKey)  ISM0001
 * - credentialName naming a Secret that does not exist in the rule's namespace               IST0101
 *   or that lacks what the mode needs (key/cert for MUTUAL, a CA for SIMPLE)                  ISM0002
 * - SIMPLE/MUTUAL with no CA to verify the server, unless verifyCertificateAtClient (OS roots) or
 *   insecureSkipVerify says so (istioctl: destinationrule.CaCertificateAnalyzer)                IST0128 / IST0129
 */
import type { FieldPath } from '../paths.js';
import { extractTlsCredential } from '../secrets.js';
import { findSecret } from '../snapshot.js';
import type { AnalysisMessage, ClientTLSSettings, DestinationRuleResource, TrafficPolicy } from '../types.js';
import type { AnalysisContext, Analyzer } from './context.js';
import { createMessage, MESSAGES, referencedNotFound } from './messages.js';

interface TlsUse {
  readonly tls: ClientTLSSettings;
  readonly path: FieldPath;
  readonly port?: number;
}

function tlsUses(policy: TrafficPolicy | undefined, path: FieldPath): TlsUse[] {
  if (!policy) return [];
  const out: TlsUse[] = [];
  if (policy.tls) out.push({ tls: policy.tls, path: [...path, 'tls'] });
  policy.portLevelSettings?.forEach((p, i) => {
    if (p.tls) out.push({ tls: p.tls, path: [...path, 'portLevelSettings', i, 'tls'], ...(p.port?.number !== undefined ? { port: p.port.number } : {}) });
  });
  return out;
}

function check(context: AnalysisContext, dr: DestinationRuleResource, use: TlsUse): AnalysisMessage[] {
  const { tls, path, port } = use;
  if (tls.mode !== 'SIMPLE' && tls.mode !== 'MUTUAL') return [];
  const messages: AnalysisMessage[] = [];
  let hasCa = Boolean(tls.caCertificates);

  if (tls.credentialName) {
    const ns = dr.metadata.namespace;
    const secret = findSecret(context.snapshot, ns, tls.credentialName);
    if (!secret) return [referencedNotFound(dr, 'credentialName', tls.credentialName, [...path, 'credentialName'])];
    const caSecret = findSecret(context.snapshot, ns, `${tls.credentialName}-cacert`);
    const result = extractTlsCredential(secret, { use: tls.mode === 'MUTUAL' ? 'keyPair' : 'ca', ...(caSecret ? { caSecret } : {}) });
    if (!result.valid) {
      messages.push(createMessage(MESSAGES.InvalidDestinationRuleCredential, dr, `The credential for TLS origination to ${dr.spec.host} is invalid: ${result.message}`, [...path, 'credentialName']));
    }
    hasCa ||= result.credential.cacert !== undefined;
  } else if (tls.mode === 'MUTUAL' && !tls.clientCertificate) {
    messages.push(createMessage(MESSAGES.DestinationRuleMutualWithoutCertificate, dr,
      `TLS mode MUTUAL to ${dr.spec.host} has no client certificate to present: set credentialName to a Secret with key and cert, or clientCertificate and privateKey`, path));
  }

  if (!hasCa && !tls.insecureSkipVerify && !context.snapshot.meshConfig.verifyCertificateAtClient) {
    const { name, namespace } = dr.metadata;
    messages.push(port === undefined
      ? createMessage(MESSAGES.NoServerCertificateVerificationDestinationLevel, dr,
        `DestinationRule ${name} in namespace ${namespace} has TLS mode set to ${tls.mode} but no caCertificates are set to validate server identity for host: ${dr.spec.host}`, path)
      : createMessage(MESSAGES.NoServerCertificateVerificationPortLevel, dr,
        `DestinationRule ${name} in namespace ${namespace} has TLS mode set to ${tls.mode} but no caCertificates are set to validate server identity for host: ${dr.spec.host} at port ${port}`, path));
  }
  return messages;
}

export const destinationRuleTls: Analyzer = {
  name: 'destinationrule.tls',
  description: 'DestinationRule TLS has the certificates and CA its mode needs',
  analyze(context) {
    return context.snapshot.destinationRules.flatMap((dr) => {
      const uses = [
        ...tlsUses(dr.spec.trafficPolicy, ['spec', 'trafficPolicy']),
        ...(dr.spec.subsets ?? []).flatMap((s, i) => tlsUses(s.trafficPolicy, ['spec', 'subsets', i, 'trafficPolicy'])),
      ];
      return uses.flatMap((use) => check(context, dr, use));
    });
  },
};
