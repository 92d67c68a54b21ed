import { readFile } from 'node:fs/promises';
import { IsthmusError, errorMessage } from '../common/index.js';
import { isCertificateAuthority, parseCertificates, toPem } from '../pki/index.js';
import { DEFAULT_SYSTEM_CA_BUNDLE } from './translate/index.js';

/**
 * The roots a proxy verifies originated TLS against under VERIFY_CERTIFICATE_AT_CLIENT: the system
 * bundle, plus Isthmus' extra roots (`--extra-trusted-roots`, meshConfig.extraTrustedRoots' CLI twin) for
 * servers whose certificates come from a private CA. With extra roots, the proxies get one inline bundle
 * (system PEM + extra PEM) instead of the system bundle's path, so the control plane reads the system
 * bundle itself: on one machine (or one image) the control plane's and the proxies' bundles are the same.
 */
export interface ClientTrust {
  readonly extraTrustedRoots: readonly string[];
  readonly systemCaBundlePem?: string;
  readonly warnings: readonly string[];
}

export async function loadClientTrust(files: readonly string[], systemCaBundlePath = DEFAULT_SYSTEM_CA_BUNDLE): Promise<ClientTrust> {
  const extraTrustedRoots: string[] = [];
  const warnings: string[] = [];
  for (const file of files) {
    let pem: string;
    try {
      pem = await readFile(file, 'utf8');
    } catch (err) {
      throw new IsthmusError('ERR_TRUST_ROOTS', `--extra-trusted-roots ${file}: ${errorMessage(err)}`, { hint: 'give a readable PEM file of CA certificates' });
    }
    let certs;
    try {
      certs = parseCertificates(pem);
    } catch (err) {
      throw new IsthmusError('ERR_TRUST_ROOTS', `--extra-trusted-roots ${file}: not a PEM certificate file: ${errorMessage(err)}`, { hint: 'give the CA certificate(s) as PEM (-----BEGIN CERTIFICATE-----)' });
    }
    if (certs.length === 0) throw new IsthmusError('ERR_TRUST_ROOTS', `--extra-trusted-roots ${file}: no certificate found`, { hint: 'give the CA certificate(s) as PEM (-----BEGIN CERTIFICATE-----)' });
    const notCa = certs.filter((c) => !isCertificateAuthority(c));
    if (notCa.length > 0) warnings.push(`--extra-trusted-roots ${file}: ${notCa.length} certificate(s) are not CA certificates; a proxy trusts them as anchors all the same`);
    extraTrustedRoots.push(toPem(certs));
  }
  if (extraTrustedRoots.length === 0) return { extraTrustedRoots, warnings };
  let systemCaBundlePem: string | undefined;
  try {
    systemCaBundlePem = await readFile(systemCaBundlePath, 'utf8');
  } catch (err) {
    warnings.push(`system CA bundle ${systemCaBundlePath} is not readable (${errorMessage(err)}): only the extra roots are trusted`);
  }
  return { extraTrustedRoots, ...(systemCaBundlePem ? { systemCaBundlePem } : {}), warnings };
}
