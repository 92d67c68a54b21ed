import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/index.js';
import { PkiError } from './errors.js';
import { CertificateAuthority } from './authority.js';
import type { IssuedCertificate } from './authority.js';
import { parseCertificates, toPem } from './certificate.js';
import type { Certificate } from './certificate.js';
import { exportPrivateKeyPem, importPrivateKeyPem } from './keys.js';

/**
 * On-disk layouts:
 * - root CA (isthmus ca init):           root-cert.pem, root-key.pem
 * - intermediate, Istio plug-in CA      ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem
 *   layout (the `cacerts` secret):
 * - workload (what Envoy reads):        cert.pem (leaf + chain), key.pem, ca-cert.pem (trust bundle)
 * Private keys are written with mode 0600; every file is written atomically.
 */
export const ROOT_FILES = { cert: 'root-cert.pem', key: 'root-key.pem' } as const;
export const PLUGIN_CA_FILES = { cert: 'ca-cert.pem', key: 'ca-key.pem', root: 'root-cert.pem', chain: 'cert-chain.pem' } as const;
export const WORKLOAD_FILES = { cert: 'cert.pem', key: 'key.pem', bundle: 'ca-cert.pem' } as const;

const KEY_MODE = 0o600;

export async function writeRootCa(dir: string, ca: CertificateAuthority): Promise<void> {
  await writeFileAtomic(join(dir, ROOT_FILES.key), await exportPrivateKeyPem(ca.privateKey), KEY_MODE);
  await writeFileAtomic(join(dir, ROOT_FILES.cert), toPem([ca.certificate]));
}

export async function writePluginCa(dir: string, ca: CertificateAuthority): Promise<void> {
  await writeFileAtomic(join(dir, PLUGIN_CA_FILES.key), await exportPrivateKeyPem(ca.privateKey), KEY_MODE);
  await writeFileAtomic(join(dir, PLUGIN_CA_FILES.cert), toPem([ca.certificate]));
  await writeFileAtomic(join(dir, PLUGIN_CA_FILES.root), toPem([ca.root]));
  await writeFileAtomic(join(dir, PLUGIN_CA_FILES.chain), ca.certChainPem());
}

export async function writeWorkload(dir: string, issued: IssuedCertificate, privateKey: CryptoKey, bundle: readonly Certificate[]): Promise<void> {
  // Envoy's certificate_chain: the leaf and the intermediates; the root stays in the trust bundle.
  const intermediates = issued.chain.filter((c) => c.subject !== c.issuer);
  await writeFileAtomic(join(dir, WORKLOAD_FILES.key), await exportPrivateKeyPem(privateKey), KEY_MODE);
  await writeFileAtomic(join(dir, WORKLOAD_FILES.cert), toPem([issued.certificate, ...intermediates]));
  await writeFileAtomic(join(dir, WORKLOAD_FILES.bundle), toPem(bundle));
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new PkiError('ERR_PKI_LAYOUT', `cannot read ${path}`, { cause: err });
  }
}

/**
 * Loads a CA from a directory in either layout: an Isthmus root (root-cert.pem + root-key.pem) or an
 * Istio plug-in CA (ca-cert.pem + ca-key.pem [+ cert-chain.pem, root-cert.pem]).
 */
export async function loadCertificateAuthority(dir: string): Promise<CertificateAuthority> {
  const has = (name: string) => existsSync(join(dir, name));
  if (has(PLUGIN_CA_FILES.cert) && has(PLUGIN_CA_FILES.key)) {
    const certPath = join(dir, PLUGIN_CA_FILES.cert);
    const [certificate] = parseCertificates(await readText(certPath), certPath);
    const key = await importPrivateKeyPem(await readText(join(dir, PLUGIN_CA_FILES.key)), join(dir, PLUGIN_CA_FILES.key));
    let chain: Certificate[] = [];
    if (has(PLUGIN_CA_FILES.chain)) {
      const chainPath = join(dir, PLUGIN_CA_FILES.chain);
      // cert-chain.pem starts with the CA's own certificate.
      chain = parseCertificates(await readText(chainPath), chainPath).filter((c) => !c.equal(certificate as Certificate));
    }
    if (has(PLUGIN_CA_FILES.root)) {
      const rootPath = join(dir, PLUGIN_CA_FILES.root);
      const [root] = parseCertificates(await readText(rootPath), rootPath);
      if (root && !root.equal(certificate as Certificate) && !chain.some((c) => c.equal(root))) chain.push(root);
    }
    return new CertificateAuthority({ certificate: certificate as Certificate, privateKey: key.privateKey, keyType: key.keyType, chain });
  }
  if (has(ROOT_FILES.cert) && has(ROOT_FILES.key)) {
    const certPath = join(dir, ROOT_FILES.cert);
    const [certificate] = parseCertificates(await readText(certPath), certPath);
    const key = await importPrivateKeyPem(await readText(join(dir, ROOT_FILES.key)), join(dir, ROOT_FILES.key));
    return new CertificateAuthority({ certificate: certificate as Certificate, privateKey: key.privateKey, keyType: key.keyType, chain: [] });
  }
  throw new PkiError('ERR_PKI_LAYOUT', `${dir} holds no CA: expected root-cert.pem + root-key.pem or ca-cert.pem + ca-key.pem`, {
    hint: 'create one with `isthmus ca init --dir DIR` or `isthmus ca intermediate --root ROOT --dir DIR`',
  });
}

/** Reads a PEM file of certificates, naming the file in errors. */
export async function readCertificatesFile(path: string): Promise<Certificate[]> {
  return parseCertificates(await readText(path), path);
}
