import type { PeerCertificate } from 'node:tls';
import type { CertificateValidationContext, StringMatcher } from '../../envoy/index.js';
import { stringMatcher } from '../matchers.js';
import type { PeerIdentity } from '../listener/connection-info.js';

export interface SubjectAltName {
  readonly type: 'DNS' | 'URI' | 'IP_ADDRESS' | 'EMAIL' | 'OTHER';
  readonly value: string;
}

const SAN_TYPES: Record<string, SubjectAltName['type']> = { DNS: 'DNS', URI: 'URI', 'IP Address': 'IP_ADDRESS', email: 'EMAIL' };

/**
 * Parses Node's `subjectaltname` ("DNS:a, URI:spiffe://x, IP Address:1.2.3.4"). Node writes values
 * with separators or quotes in them as JSON strings (`URI:"a, b"`), so a plain split is not enough.
 */
export function parseSubjectAltNames(text: string | undefined): SubjectAltName[] {
  const out: SubjectAltName[] = [];
  if (!text) return out;
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const kind = text.slice(i, colon);
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      let end = colon + 2;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      value = JSON.parse(text.slice(colon + 1, end + 1)) as string;
      next = text.indexOf(', ', end);
    } else {
      next = text.indexOf(', ', colon);
      value = text.slice(colon + 1, next < 0 ? text.length : next);
    }
    out.push({ type: SAN_TYPES[kind] ?? 'OTHER', value });
    if (next < 0) break;
    i = next + 2;
  }
  return out;
}

/** The first URI SAN of a peer certificate (its SPIFFE ID in a mesh), for logs and headers. */
export function peerUriSan(cert: PeerCertificate | undefined): string | undefined {
  return parseSubjectAltNames(cert?.subjectaltname).find((san) => san.type === 'URI')?.value;
}

/** A subject as Envoy prints it (RFC 2253: most specific RDN first, comma-separated). */
function rfc2253(subject: PeerCertificate['subject'] | undefined): string {
  if (!subject) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(subject)) {
    for (const v of Array.isArray(value) ? value : [value]) parts.push(`${key}=${String(v).replace(/([,+"\\<>;])/g, '\\$1')}`);
  }
  return parts.reverse().join(',');
}

/** The names RBAC's `authenticated` principal matches: URI SANs, then DNS SANs, then the subject. */
export function peerIdentity(cert: PeerCertificate): PeerIdentity {
  const sans = parseSubjectAltNames(cert.subjectaltname);
  return {
    uriSans: sans.filter((s) => s.type === 'URI').map((s) => s.value),
    dnsSans: sans.filter((s) => s.type === 'DNS').map((s) => s.value),
    subject: rfc2253(cert.subject),
  };
}

/** The types an untyped match_subject_alt_names matcher is tried against, each by its own rules (as Envoy). */
const UNTYPED_SAN_TYPES: ReadonlySet<SubjectAltName['type']> = new Set(['DNS', 'URI', 'EMAIL', 'IP_ADDRESS']);

/**
 * A matcher for SANs of one type (CVE-2022-21656: a DNS matcher never matches a URI or email SAN with
 * the same text, and the reverse). An exact DNS matcher also accepts a wildcard DNS SAN covering it
 * ("*.example.com"), as Envoy does; wildcards mean nothing in other SAN types.
 */
function sanPredicate(type: SubjectAltName['type'] | undefined, m: StringMatcher): (san: SubjectAltName) => boolean {
  const test = stringMatcher(m);
  const exact = m.exact?.toLowerCase();
  return (san) => {
    if (type !== undefined ? san.type !== type : !UNTYPED_SAN_TYPES.has(san.type)) return false;
    if (test(san.value)) return true;
    if (san.type === 'DNS' && exact !== undefined && san.value.startsWith('*.')) {
      const dot = exact.indexOf('.');
      return dot > 0 && exact.slice(dot) === san.value.slice(1).toLowerCase();
    }
    return false;
  };
}

/** How a caller reports a bad matcher: its own error type, with the field path. */
export type SanConfigError = (path: string, detail: string, cause?: unknown) => Error;

/**
 * match_typed_subject_alt_names (and the older match_subject_alt_names, which matches a SAN of any
 * type), compiled once: a peer passes when any matcher matches one of its SANs. Undefined when the
 * validation context has no matchers (everything passes). Used by both downstream and upstream TLS.
 */
export function compileSanMatcher(vc: CertificateValidationContext | undefined, path: string, fail: SanConfigError): ((subjectAltName: string | undefined) => boolean) | undefined {
  const matchers: Array<(san: SubjectAltName) => boolean> = [];
  const compile = (build: () => (san: SubjectAltName) => boolean, at: string) => {
    try {
      matchers.push(build());
    } catch (err) {
      throw fail(at, (err as Error).message, err);
    }
  };
  (vc?.match_typed_subject_alt_names ?? []).forEach((m, i) => {
    const type = m.san_type === 'EMAIL' || m.san_type === 'DNS' || m.san_type === 'URI' || m.san_type === 'IP_ADDRESS' ? m.san_type : undefined;
    if (!type) throw fail(`${path}.match_typed_subject_alt_names[${i}].san_type`, `${m.san_type} is not supported; use DNS, URI, EMAIL or IP_ADDRESS`);
    compile(() => sanPredicate(type, m.matcher), `${path}.match_typed_subject_alt_names[${i}].matcher`);
  });
  (vc?.match_subject_alt_names ?? []).forEach((m, i) => compile(() => sanPredicate(undefined, m), `${path}.match_subject_alt_names[${i}]`));
  if (matchers.length === 0) return undefined;
  return (subjectAltName) => {
    const sans = parseSubjectAltNames(subjectAltName);
    return matchers.some((match) => sans.some(match));
  };
}
