import { PkiError } from './errors.js';

/** A SPIFFE ID (spiffe://trust-domain/path), validated by the rules of the SPIFFE ID specification. */
export interface SpiffeId {
  readonly trustDomain: string;
  /** The path with its leading slash, or "" for a trust domain's own ID. */
  readonly path: string;
  readonly uri: string;
}

const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

export function parseSpiffeId(text: string): SpiffeId {
  const fail = (why: string): never => {
    throw new PkiError('ERR_PKI_SPIFFE_ID', `invalid SPIFFE ID "${text}": ${why}`, {
      hint: 'write it as spiffe://<trust-domain>/<path>, e.g. spiffe://cluster.local/ns/default/sa/sleep',
    });
  };
  if (!text.startsWith('spiffe://')) fail('it must start with spiffe://');
  const rest = text.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  if (!trustDomain) fail('the trust domain is empty');
  if (!TRUST_DOMAIN.test(trustDomain)) {
    fail('the trust domain may hold only lower-case letters, digits, ".", "-" and "_"');
  }
  if (path) {
    const segments = path.slice(1).split('/');
    for (const segment of segments) {
      if (!segment) fail('the path has an empty segment or a trailing "/"');
      if (segment === '.' || segment === '..') fail('the path may not contain "." or ".." segments');
      if (!SEGMENT.test(segment)) fail(`path segment "${segment}" may hold only letters, digits, ".", "-" and "_"`);
    }
  }
  return { trustDomain, path, uri: `spiffe://${trustDomain}${path}` };
}

export function isSpiffeUri(text: string): boolean {
  return text.startsWith('spiffe://');
}

/** Istio's workload identity: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>. */
export function istioSpiffeId(trustDomain: string, namespace: string, serviceAccount: string): SpiffeId {
  return parseSpiffeId(`spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`);
}

export function trustDomainId(trustDomain: string): SpiffeId {
  return parseSpiffeId(`spiffe://${trustDomain}`);
}
