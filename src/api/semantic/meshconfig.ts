/** Isthmus' MeshConfig: values must be usable by the CA and the translator as written. */
import { X509Certificate } from 'node:crypto';
import { errorMessage, parseDuration } from '../../common/index.js';
import { issue } from '../paths.js';
import type { FieldPath, Issue } from '../paths.js';
import type { MeshConfigResource, PathNormalizationMode } from '../types.js';

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
  const normalization = spec.pathNormalization?.normalization;
  if (normalization !== undefined && !(PATH_NORMALIZATIONS as readonly string[]).includes(normalization)) {
    issues.push(issue(['spec', 'pathNormalization', 'normalization'], `unknown path normalization "${String(normalization)}"`, `use one of ${PATH_NORMALIZATIONS.join(', ')} (DEFAULT is BASE)`));
  }
  return issues;
}
