/**
 * TLS credentials from Kubernetes Secrets, in the formats Istio's credentialName accepts
 * (pilot/pkg/credentials/kube):
 *   generic (kubectl create secret generic --from-file=key=... --from-file=cert=... --from-file=cacert=...)
 *   kubernetes.io/tls (tls.key, tls.crt, ca.crt)
 * The CA may also live in a separate Secret named "<credentialName>-cacert", which Istio prefers.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { errorMessage } from '../common/index.js';
import type { SecretResource } from './types.js';

/** Decoded values of a Secret; stringData wins over data for the same key, as in Kubernetes. */
export function secretValues(secret: SecretResource): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) out[key] = Buffer.from(value, 'base64').toString('utf8');
  for (const [key, value] of Object.entries(secret.stringData ?? {})) out[key] = value;
  return out;
}

export interface TlsCredential {
  /** PEM private key. */
  readonly key?: string;
  /** PEM certificate chain, leaf first. */
  readonly cert?: string;
  /** PEM CA bundle used to verify the peer. */
  readonly cacert?: string;
  readonly crl?: string;
}

export type CredentialUse =
  /** A server (Gateway SIMPLE) or client (DestinationRule MUTUAL) presenting a certificate. */
  | 'keyPair'
  /** Gateway MUTUAL / OPTIONAL_MUTUAL: a key pair plus a CA to verify clients. */
  | 'keyPairAndCa'
  /** DestinationRule SIMPLE: only a CA to verify the server. */
  | 'ca';

export interface TlsCredentialResult {
  /** True when everything the use needs is present and (when checked) parses. */
  readonly valid: boolean;
  readonly credential: TlsCredential;
  /** Which Secret layout the key pair came from. */
  readonly format?: 'generic' | 'kubernetes.io/tls';
  /** What is missing, in words: "private key (\"key\" or \"tls.key\")". */
  readonly missing: readonly string[];
  /** PEM content that does not parse or does not fit together. */
  readonly problems: readonly string[];
  /** One sentence for users, empty when valid. */
  readonly message: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

function certificates(pem: string): X509Certificate[] {
  return [...pem.matchAll(PEM_BLOCK)].filter((m) => m[1] === 'CERTIFICATE').map((m) => new X509Certificate(m[0]));
}

function checkPem(credential: TlsCredential, problems: string[], now: Date): void {
  let leaf: X509Certificate | undefined;
  if (credential.cert !== undefined) {
    try {
      const chain = certificates(credential.cert);
      leaf = chain[0];
      if (!leaf) problems.push('cert holds no PEM certificate');
      else if (new Date(leaf.validTo) < now) problems.push(`certificate expired on ${new Date(leaf.validTo).toISOString()}`);
    } catch (err) {
      problems.push(`cert does not parse: ${errorMessage(err)}`);
    }
  }
  if (credential.key !== undefined) {
    try {
      const key = createPrivateKey(credential.key);
      if (leaf && !leaf.checkPrivateKey(key)) problems.push('the private key does not belong to the certificate');
    } catch (err) {
      problems.push(`key does not parse as a PEM private key: ${errorMessage(err)}`);
    }
  }
  if (credential.cacert !== undefined) {
    try {
      if (certificates(credential.cacert).length === 0) problems.push('cacert holds no PEM certificate');
    } catch (err) {
      problems.push(`cacert does not parse: ${errorMessage(err)}`);
    }
  }
}

function has(values: Record<string, string>, key: string): boolean {
  return (values[key] ?? '') !== '';
}

/**
 * Extracts {key, cert, cacert} for a credentialName and says exactly what is missing. `caSecret` is the
 * optional "<name>-cacert" Secret. PEM is parsed (and the key matched to the certificate) unless
 * `checkPem` is false.
 */
export function extractTlsCredential(
  secret: SecretResource,
  options: { use?: CredentialUse; caSecret?: SecretResource; checkPem?: boolean; now?: Date } = {},
): TlsCredentialResult {
  const use = options.use ?? 'keyPair';
  const values = secretValues(secret);
  const credential: { -readonly [K in keyof TlsCredential]: TlsCredential[K] } = {};
  const missing: string[] = [];
  let format: TlsCredentialResult['format'];

  if (use !== 'ca') {
    if (has(values, 'key') && has(values, 'cert')) {
      format = 'generic';
      credential.key = values['key'];
      credential.cert = values['cert'];
    } else if (has(values, 'tls.key') && has(values, 'tls.crt')) {
      format = 'kubernetes.io/tls';
      credential.key = values['tls.key'];
      credential.cert = values['tls.crt'];
    } else {
      if (!has(values, 'key') && !has(values, 'tls.key')) missing.push('private key ("key" or "tls.key")');
      if (!has(values, 'cert') && !has(values, 'tls.crt')) missing.push('certificate ("cert" or "tls.crt")');
    }
  }

  // Istio reads the CA from "<name>-cacert" first, then from the Secret itself.
  const caValues = options.caSecret ? secretValues(options.caSecret) : values;
  const cacert = has(caValues, 'cacert') ? caValues['cacert'] : has(caValues, 'ca.crt') ? caValues['ca.crt'] : undefined;
  if (cacert !== undefined) credential.cacert = cacert;
  else if (use !== 'keyPair') {
    missing.push(`CA certificate ("cacert" or "ca.crt", here or in Secret ${secret.metadata.name}-cacert)`);
  }
  const crl = caValues['crl'] ?? caValues['ca.crl'];
  if (crl) credential.crl = crl;

  const problems: string[] = [];
  if (options.checkPem ?? true) checkPem(credential, problems, options.now ?? new Date());

  const name = `Secret ${secret.metadata.namespace}/${secret.metadata.name}`;
  const found = Object.keys(values).sort().join(', ') || 'no keys';
  const parts: string[] = [];
  if (missing.length > 0) parts.push(`${name} has no ${missing.join(' and no ')} (found: ${found})`);
  if (problems.length > 0) parts.push(`${name}: ${problems.join('; ')}`);
  const result = { valid: parts.length === 0, credential, missing, problems, message: parts.join('. ') };
  return format ? { ...result, format } : result;
}
