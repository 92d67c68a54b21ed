import type { PeerCertificate } from 'node:tls';
import type { CertificateValidationContext } from '../../envoy/index.js';
import { stringMatcher } from '../matchers.js';

export interface PeerSans {
  dns: string[];
  uri: string[];
  ip: string[];
  email: string[];
}

/** Splits Node's subjectaltname string ("DNS:a, URI:spiffe://x, IP Address:1.2.3.4"). */
export function peerSans(cert: PeerCertificate | undefined): PeerSans {
  const sans: PeerSans = { dns: [], uri: [], ip: [], email: [] };
  for (const part of cert?.subjectaltname?.split(', ') ?? []) {
    const colon = part.indexOf(':');
    const type = part.slice(0, colon);
    const value = part.slice(colon + 1).replace(/^"(.*)"$/, '$1');
    if (type === 'DNS') sans.dns.push(value);
    else if (type === 'URI') sans.uri.push(value);
    else if (type === 'IP Address') sans.ip.push(value);
    else if (type === 'email') sans.email.push(value);
  }
  return sans;
}

/**
 * match_typed_subject_alt_names (and the older match_subject_alt_names, which matches any SAN type):
 * the peer passes when any matcher matches a SAN of its type. No matchers: everything passes.
 */
export function sanVerifier(ctx: CertificateValidationContext | undefined): ((cert: PeerCertificate | undefined) => boolean) | undefined {
  const typed = (ctx?.match_typed_subject_alt_names ?? []).map((m) => ({ type: m.san_type, test: stringMatcher(m.matcher) }));
  const untyped = (ctx?.match_subject_alt_names ?? []).map(stringMatcher);
  if (typed.length === 0 && untyped.length === 0) return undefined;
  return (cert) => {
    const sans = peerSans(cert);
    const byType: Record<string, string[]> = { DNS: sans.dns, URI: sans.uri, IP_ADDRESS: sans.ip, EMAIL: sans.email };
    if (typed.some((m) => (byType[m.type] ?? []).some(m.test))) return true;
    const all = [...sans.dns, ...sans.uri, ...sans.ip, ...sans.email];
    return untyped.some((test) => all.some(test));
  };
}
