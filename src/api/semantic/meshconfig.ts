/** Isthmus' MeshConfig: values must be usable by the CA and the translator as written. */
import { X509Certificate } from 'node:crypto';
import { errorMessage, parseDuration } from '../../common/index.js';
import { issue } from '../paths.js';
import type { FieldPath, Issue } from '../paths.js';
import type { MeshConfigResource, MeshConfigSpec, PathNormalizationMode } from '../types.js';

// SPIFFE trust domains: lower-case letters, digits, ".", "-", "_" (no scheme, no path).
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
export const PATH_NORMALIZATIONS: readonly PathNormalizationMode[] = ['DEFAULT', 'NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function durationMs(path: FieldPath, value: string | undefined, issues: Issue[]): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value, path.join('.'));
  } catch (err) {
    issues.push(issue(path, errorMessage(err).split('\n')[0] as string, 'write a positive duration such as 24h, 90d or 1h30m'));
    return undefined;
  }
}

export function validateMeshConfig(mesh: MeshConfigResource): Issue[] {
  const spec = mesh.spec;
  const issues: Issue[] = [];
  if (spec.trustDomain !== undefined && !TRUST_DOMAIN.test(spec.trustDomain)) {
    issues.push(issue(['spec', 'trustDomain'], `invalid trust domain "${spec.trustDomain}"`, 'use lower-case letters, digits, ".", "-" and "_", e.g. cluster.local or mesh-b.example.com'));
  }
  const ttl = durationMs(['spec', 'ca', 'workloadCertTtl'], spec.ca?.workloadCertTtl, issues);
  const max = durationMs(['spec', 'ca', 'maxWorkloadCertTtl'], spec.ca?.maxWorkloadCertTtl, issues);
  if (ttl !== undefined && max !== undefined && ttl > max) {
    issues.push(issue(['spec', 'ca', 'workloadCertTtl'], `workloadCertTtl ${spec.ca?.workloadCertTtl} is longer than maxWorkloadCertTtl ${spec.ca?.maxWorkloadCertTtl}`, 'shorten workloadCertTtl or raise maxWorkloadCertTtl'));
  }
  spec.extraTrustedRoots?.forEach((pem, i) => {
    const blocks = pem.match(PEM_CERT) ?? [];
    if (blocks.length === 0) {
      issues.push(issue(['spec', 'extraTrustedRoots', i], 'no PEM certificate found', 'paste the root certificate(s) as PEM text (-----BEGIN CERTIFICATE----- ...)'));
    }
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch (err) {
        issues.push(issue(['spec', 'extraTrustedRoots', i], `certificate does not parse: ${errorMessage(err)}`, 'paste the PEM exactly as openssl wrote it'));
      }
    }
  });
  issues.push(...caCertificatesIssues(spec, ['spec', 'caCertificates']));
  const normalization = spec.pathNormalization?.normalization;
  if (normalization !== undefined && !(PATH_NORMALIZATIONS as readonly string[]).includes(normalization)) {
    issues.push(issue(['spec', 'pathNormalization', 'normalization'], `unknown path normalization "${String(normalization)}"`, `use one of ${PATH_NORMALIZATIONS.join(', ')} (DEFAULT is BASE)`));
  }
  return issues;
}

/**
 * meshConfig.caCertificates as Isthmus federates: each entry is PEM roots for named trust domains,
 * verified per domain. Istio's other forms (a SPIFFE bundle URL, roots for cert signers, roots without
 * trust domains merged into every peer's bundle) are refused with what to write instead.
 */
export function caCertificatesIssues(spec: MeshConfigSpec, base: FieldPath): Issue[] {
  const issues: Issue[] = [];
  const own = spec.trustDomain;
  (spec.caCertificates ?? []).forEach((entry, i) => {
    const at: FieldPath = [...base, i];
    if (entry.spiffeBundleUrl !== undefined) {
      issues.push(issue([...at, 'spiffeBundleUrl'], 'fetching a SPIFFE bundle endpoint is not supported', 'download the bundle\'s roots and give them as pem, with trustDomains'));
    }
    if (entry.certSigners !== undefined) {
      issues.push(issue([...at, 'certSigners'], 'roots per cert signer are not supported', 'remove certSigners; give the roots with the trustDomains they sign for'));
    }
    if (entry.pem === undefined) {
      if (entry.spiffeBundleUrl === undefined) issues.push(issue([...at, 'pem'], 'pem is required', 'paste the other trust domain\'s root certificate(s) as PEM text'));
    } else {
      const blocks = entry.pem.match(PEM_CERT) ?? [];
      if (blocks.length === 0) issues.push(issue([...at, 'pem'], 'no PEM certificate found', 'paste the root certificate(s) as PEM text (-----BEGIN CERTIFICATE----- ...)'));
      for (const block of blocks) {
        try {
          new X509Certificate(block);
        } catch (err) {
          issues.push(issue([...at, 'pem'], `certificate does not parse: ${errorMessage(err)}`, 'paste the PEM exactly as openssl wrote it'));
        }
      }
    }
    const domains = entry.trustDomains ?? [];
    if (domains.length === 0) {
      issues.push(issue([...at, 'trustDomains'], 'name the trust domain(s) whose identities these roots sign', 'add trustDomains: [<trust domain>]; each peer is verified only against its own trust domain\'s roots, so roots without a trust domain would verify no one'));
    }
    domains.forEach((td, j) => {
      if (!TRUST_DOMAIN.test(td)) issues.push(issue([...at, 'trustDomains', j], `invalid trust domain "${td}"`, 'write it without spiffe://, in lower-case letters, digits, ".", "-" and "_", e.g. mesh-a.example.com'));
      else if (own !== undefined && td === own) {
        issues.push(issue([...at, 'trustDomains', j], `"${td}" is this mesh's own trust domain; its roots come from the mesh CA`, 'remove it (to trust more roots for the own domain, rotate the root with isthmus ca rotate-root)'));
      }
    });
  });
  return issues;
}
