/**
 * Federation: the other trust domains a mesh explicitly trusts, each with its own roots, from
 * meshConfig.caCertificates ({pem, trustDomains}) and the control plane's `--federate TD=bundle.pem`.
 * With any, ROOTCA (the trust every mesh mTLS context refers to) becomes Envoy's SPIFFE certificate
 * validator: the mesh's own trust domain(s) -> the mesh roots, each federated domain -> its roots, so a
 * peer is verified only against its own trust domain's bundle, never a merged pool. Without, ROOTCA stays
 * the plain trusted_ca it always was.
 */
import { readFile } from 'node:fs/promises';
import { IsthmusError, errorMessage } from '../common/index.js';
import { TYPE_URL } from '../envoy/index.js';
import type { CertificateValidationContext } from '../envoy/index.js';
import { parseCertificates, parseSpiffeId, toPem } from '../pki/index.js';
import type { MeshConfigSpec } from './translate/index.js';

export interface FederatedBundle {
  readonly trustDomain: string;
  /** The roots, PEM. */
  readonly pem: string;
  /** Where it came from, for messages: `--federate b.local=...` or `meshConfig.caCertificates[0]`. */
  readonly source: string;
}

const FLAG_HINT = 'write --federate <trust domain>=<PEM file of its root certificates>, e.g. --federate mesh-a.local=mesh-a-root.pem';

/** Reads `--federate TD=file` values (repeatable) at start; errors name the flag value and the fix. */
export async function loadFederationFlags(values: readonly string[]): Promise<FederatedBundle[]> {
  const out: FederatedBundle[] = [];
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0 || eq === value.length - 1) throw new IsthmusError('ERR_FEDERATION', `--federate ${value}: expected <trust domain>=<file>`, { hint: FLAG_HINT });
    const trustDomain = value.slice(0, eq);
    const file = value.slice(eq + 1);
    try {
      if (parseSpiffeId(`spiffe://${trustDomain}`).path !== '') throw new Error('a trust domain has no path');
    } catch (err) {
      throw new IsthmusError('ERR_FEDERATION', `--federate ${value}: "${trustDomain}" is not a trust domain: ${errorMessage(err)}`, { hint: FLAG_HINT });
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new IsthmusError('ERR_FEDERATION', `--federate ${value}: cannot read ${file}: ${errorMessage(err)}`, { hint: FLAG_HINT });
    }
    let pem: string;
    try {
      pem = toPem(parseCertificates(text, file));
    } catch (err) {
      throw new IsthmusError('ERR_FEDERATION', `--federate ${value}: ${errorMessage(err)}`, { hint: 'give the other mesh\'s root-cert.pem (isthmus ca roots --out FILE on that mesh)' });
    }
    out.push({ trustDomain, pem, source: `--federate ${trustDomain}` });
  }
  return out;
}

/** The federated bundles in force: the flags, then meshConfig.caCertificates (entries that validation passed). */
export function federatedBundles(mesh: MeshConfigSpec, flags: readonly FederatedBundle[]): FederatedBundle[] {
  const out = [...flags];
  (mesh.caCertificates ?? []).forEach((entry, i) => {
    if (!entry.pem) return;
    for (const trustDomain of entry.trustDomains ?? []) out.push({ trustDomain, pem: entry.pem, source: `meshConfig.caCertificates[${i}]` });
  });
  return out;
}

/** The federated trust domains other than the mesh's own, sorted, each once. */
export function federatedTrustDomains(bundles: readonly FederatedBundle[], ownTrustDomains: readonly string[]): string[] {
  return [...new Set(bundles.map((b) => b.trustDomain).filter((td) => !ownTrustDomains.includes(td)))].sort();
}

const inline = (pem: string) => ({ inline_bytes: Buffer.from(pem).toString('base64') });

/**
 * ROOTCA's validation context. `ownTrustDomains` (the mesh's, and its VM intermediate's when that has
 * another) verify against the mesh roots; a federated bundle naming an own trust domain is left out
 * (reported in `ignored`): the mesh CA alone speaks for its own domain.
 */
export function rootCaValidation(rootsPem: string, ownTrustDomains: readonly string[], bundles: readonly FederatedBundle[]): { validation: CertificateValidationContext; ignored: FederatedBundle[] } {
  const ignored = bundles.filter((b) => ownTrustDomains.includes(b.trustDomain));
  const foreign = bundles.filter((b) => !ownTrustDomains.includes(b.trustDomain));
  if (foreign.length === 0) return { validation: { trusted_ca: inline(rootsPem) }, ignored };
  const byDomain = new Map<string, string[]>();
  for (const td of ownTrustDomains) byDomain.set(td, [rootsPem]);
  // Several sources for one domain (a flag and the mesh config, or a rotation in progress): all its roots.
  for (const b of foreign) byDomain.set(b.trustDomain, [...(byDomain.get(b.trustDomain) ?? []), b.pem]);
  const trustDomains = [...byDomain.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, pems]) => ({ name, trust_bundle: inline(pems.map((p) => p.trimEnd()).join('\n') + '\n') }));
  return {
    validation: {
      custom_validator_config: {
        name: 'envoy.tls.cert_validator.spiffe',
        typed_config: { '@type': TYPE_URL.spiffeCertValidatorConfig, trust_domains: trustDomains },
      },
    },
    ignored,
  };
}
