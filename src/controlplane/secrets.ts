import type { CertificateValidationContext, Secret } from '../envoy/index.js';
import { extractTlsCredential, findSecret } from '../api/index.js';
import type { ConfigSnapshot } from '../api/index.js';

const KUBERNETES = 'kubernetes://';
const CACERT_SUFFIX = '-cacert';

const inline = (pem: string) => ({ inline_bytes: Buffer.from(pem).toString('base64') });

/**
 * SDS resources for the names a proxy's config refers to, as istiod serves them: credentialName
 * secrets from the proxy's namespace (`kubernetes://NAME` key pair, `kubernetes://NAME-cacert` CA),
 * and ROOTCA (the mesh's trust bundle: its root, plus the previous one during a rotation). Certificates travel only over SDS, never as files.
 */
export function sdsSecrets(names: readonly string[], snapshot: ConfigSnapshot, namespace: string, rootsPem: string | undefined, rootValidation?: CertificateValidationContext): { secrets: Secret[]; missing: string[] } {
  const secrets: Secret[] = [];
  const missing: string[] = [];
  for (const name of names) {
    if (name === 'ROOTCA' && rootsPem) {
      // With federation, the caller's SPIFFE validator (one bundle per trust domain) instead of the roots alone.
      secrets.push({ name, validation_context: rootValidation ?? { trusted_ca: inline(rootsPem) } });
      continue;
    }
    if (!name.startsWith(KUBERNETES)) {
      missing.push(name);
      continue;
    }
    const wantsCa = name.endsWith(CACERT_SUFFIX);
    const credentialName = name.slice(KUBERNETES.length, wantsCa ? -CACERT_SUFFIX.length : undefined);
    const secret = findSecret(snapshot, namespace, credentialName) ?? (wantsCa ? findSecret(snapshot, namespace, `${credentialName}${CACERT_SUFFIX}`) : undefined);
    if (!secret) {
      missing.push(name);
      continue;
    }
    const { credential } = extractTlsCredential(secret, { use: wantsCa ? 'ca' : 'keyPair' });
    if (wantsCa && credential.cacert) secrets.push({ name, validation_context: { trusted_ca: inline(credential.cacert) } });
    else if (!wantsCa && credential.cert && credential.key) {
      secrets.push({ name, tls_certificate: { certificate_chain: inline(credential.cert), private_key: inline(credential.key) } });
    } else missing.push(name);
  }
  return { secrets, missing };
}
