// The files the PKI writes, checked by the tool users check them with: openssl.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateAuthority, PLUGIN_CA_FILES, PkiError, ROOT_FILES, WORKLOAD_FILES, fingerprintSha256, loadCertificateAuthority, parseCertificates,
  spiffeUris, writePluginCa, writeRootCa, writeWorkload,
} from '../../src/pki/index.js';
import { openssl, tempDir } from '../helpers/index.js';

const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';
const VM = 'spiffe://vm.local/vm/vm-1';

let work: { dir: string; cleanup: () => Promise<void> };
let root: CertificateAuthority;
let meshCa: CertificateAuthority;
let vmCa: CertificateAuthority;
const dir = (...parts: string[]) => join(work.dir, ...parts);

async function issueTo(ca: CertificateAuthority, name: string, spiffeId: string, extra: { keyType?: 'ec-p256' | 'rsa-2048'; ttlMs?: number; now?: Date } = {}): Promise<string> {
  const issued = await ca.issueWithNewKey({ spiffeId, ...extra });
  await writeWorkload(dir(name), issued, issued.keys.privateKey, [ca.root]);
  return dir(name);
}

/** `openssl verify` of a workload's cert.pem (leaf + intermediates) against a root file. */
async function verify(rootFile: string, certDir: string, ...flags: string[]) {
  return openssl(['verify', ...flags, '-CAfile', rootFile, '-untrusted', join(certDir, WORKLOAD_FILES.cert), join(certDir, WORKLOAD_FILES.cert)]);
}

async function publicKeyOfKey(path: string): Promise<string> {
  const r = await openssl(['pkey', '-in', path, '-pubout']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}
async function publicKeyOfCert(path: string): Promise<string> {
  const r = await openssl(['x509', '-in', path, '-noout', '-pubkey']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  work = await tempDir('openssl');
  root = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
  meshCa = await root.createIntermediate({ name: 'mesh-ca' });
  vmCa = await root.createIntermediate({ name: 'vm-ca', trustDomain: 'vm.local' });
  await writeRootCa(dir('root'), root);
  await writePluginCa(dir('mesh-ca'), meshCa);
  await writePluginCa(dir('vm-ca'), vmCa);
});
afterAll(async () => {
  await work?.cleanup();
});

describe('openssl verify accepts issued chains', () => {
  it('root -> mesh-ca -> leaf, strict X.509, for TLS clients and servers', async () => {
    const leaf = await issueTo(meshCa, 'sleep', SLEEP);
    const rootFile = dir('root', ROOT_FILES.cert);
    for (const purpose of ['sslclient', 'sslserver']) {
      const r = await verify(rootFile, leaf, '-x509_strict', '-purpose', purpose);
      expect(r.stdout + r.stderr).toContain(': OK');
      expect(r.code).toBe(0);
    }
    // The Istio cert-chain.pem serves as the untrusted intermediates too.
    const viaChain = await openssl(['verify', '-CAfile', rootFile, '-untrusted', dir('mesh-ca', PLUGIN_CA_FILES.chain), join(leaf, WORKLOAD_FILES.cert)]);
    expect(viaChain.code, viaChain.stderr).toBe(0);
  });

  it('root -> vm-ca (trust domain vm.local) -> leaf', async () => {
    const leaf = await issueTo(vmCa, 'vm', VM);
    const r = await verify(dir('root', ROOT_FILES.cert), leaf, '-x509_strict', '-purpose', 'sslclient');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const text = (await openssl(['x509', '-in', join(leaf, WORKLOAD_FILES.cert), '-noout', '-text'])).stdout;
    expect(text).toContain(`URI:${VM}`);
    expect(text).toContain('Issuer: CN = vm-ca, O = vm.local');
    const caText = (await openssl(['x509', '-in', dir('vm-ca', PLUGIN_CA_FILES.cert), '-noout', '-text'])).stdout;
    expect(caText).toContain('URI:spiffe://vm.local');
    expect(caText).toMatch(/CA:TRUE, pathlen:0/);
  });

  it('openssl refuses the same chain against another root, without its intermediate, or when expired', async () => {
    const leaf = await issueTo(meshCa, 'sleep-neg', SLEEP);
    const other = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
    await writeRootCa(dir('other-root'), other);
    const wrongRoot = await verify(dir('other-root', ROOT_FILES.cert), leaf);
    expect(wrongRoot.code).not.toBe(0);
    expect(wrongRoot.stdout + wrongRoot.stderr).toMatch(/unable to get local issuer certificate|certificate signature failure/);
    // Only the leaf, no intermediate: no path to the root.
    const leafOnly = dir('leaf-only.pem');
    await writeFile(leafOnly, parseCertificates(await readFile(join(leaf, WORKLOAD_FILES.cert), 'utf8'))[0]!.toString('pem'));
    const noIntermediate = await openssl(['verify', '-CAfile', dir('root', ROOT_FILES.cert), leafOnly]);
    expect(noIntermediate.code).not.toBe(0);
    const expired = await issueTo(meshCa, 'expired', SLEEP, { ttlMs: 60_000, now: new Date(Date.now() - 2 * 3_600_000) });
    const r = await verify(dir('root', ROOT_FILES.cert), expired);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('certificate has expired');
  });
});

describe('openssl x509 -text shows what a workload certificate is', () => {
  it('SPIFFE URI SAN (critical, with an empty subject), DNS SANs, not a CA, both TLS usages, ECDSA P-256', async () => {
    const issued = await meshCa.issueWithNewKey({ spiffeId: SLEEP, dnsNames: ['sleep.default.svc'] });
    await writeWorkload(dir('sleep-dns'), issued, issued.keys.privateKey, [root.certificate]);
    const r = await openssl(['x509', '-in', dir('sleep-dns', WORKLOAD_FILES.cert), '-noout', '-text']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep, DNS:sleep\.default\.svc/);
    expect(r.stdout).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(r.stdout).toContain('TLS Web Server Authentication, TLS Web Client Authentication');
    expect(r.stdout).toContain('NIST CURVE: P-256');
    expect(r.stdout).toContain('Issuer: CN = mesh-ca, O = cluster.local');
  });
});

describe('files on disk', () => {
  it('private keys are mode 0600, certificates are readable, and each key matches its certificate', async () => {
    const leaf = await issueTo(meshCa, 'modes', SLEEP);
    const pairs: Array<[string, string]> = [
      [dir('root', ROOT_FILES.key), dir('root', ROOT_FILES.cert)],
      [dir('mesh-ca', PLUGIN_CA_FILES.key), dir('mesh-ca', PLUGIN_CA_FILES.cert)],
      [join(leaf, WORKLOAD_FILES.key), join(leaf, WORKLOAD_FILES.cert)],
    ];
    for (const [key, cert] of pairs) {
      expect(((await stat(key)).mode & 0o777).toString(8), key).toBe('600');
      expect(((await stat(cert)).mode & 0o777).toString(8), cert).toBe('644');
      expect(await publicKeyOfKey(key)).toBe(await publicKeyOfCert(cert));
    }
  });

  it('keys stay 0600 when an existing key file with looser mode is replaced', async () => {
    const target = dir('replace');
    await issueTo(meshCa, 'replace', SLEEP);
    await writeFile(join(target, WORKLOAD_FILES.key), 'old', { mode: 0o644 });
    await issueTo(meshCa, 'replace', SLEEP);
    expect((await stat(join(target, WORKLOAD_FILES.key))).mode & 0o777).toBe(0o600);
  });

  it('the Istio plug-in CA layout: ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem = intermediate + root', async () => {
    const files = Object.fromEntries(await Promise.all(Object.values(PLUGIN_CA_FILES).map(async (f) => [f, await readFile(dir('mesh-ca', f), 'utf8')] as const)));
    const fp = (pem: string) => parseCertificates(pem).map(fingerprintSha256);
    expect(fp(files[PLUGIN_CA_FILES.cert] as string)).toEqual([fingerprintSha256(meshCa.certificate)]);
    expect(fp(files[PLUGIN_CA_FILES.root] as string)).toEqual([fingerprintSha256(root.certificate)]);
    expect(fp(files[PLUGIN_CA_FILES.chain] as string)).toEqual([fingerprintSha256(meshCa.certificate), fingerprintSha256(root.certificate)]);
    expect(files[PLUGIN_CA_FILES.key]).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(await publicKeyOfKey(dir('mesh-ca', PLUGIN_CA_FILES.key))).toBe(await publicKeyOfCert(dir('mesh-ca', PLUGIN_CA_FILES.cert)));
    const r = await openssl(['verify', '-x509_strict', '-CAfile', dir('mesh-ca', PLUGIN_CA_FILES.root), dir('mesh-ca', PLUGIN_CA_FILES.cert)]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('loadCertificateAuthority reads the plug-in layout and the root layout back, and the loaded CA issues', async () => {
    const loaded = await loadCertificateAuthority(dir('vm-ca'));
    expect(fingerprintSha256(loaded.certificate)).toBe(fingerprintSha256(vmCa.certificate));
    expect(loaded.chain.map(fingerprintSha256)).toEqual([fingerprintSha256(root.certificate)]);
    expect(loaded.trustDomain).toBe('vm.local');
    expect(loaded.keyType).toBe('ec-p256');
    expect(loaded.isRoot).toBe(false);
    await issueTo(loaded, 'from-loaded', 'spiffe://vm.local/vm/vm-2');
    expect((await verify(dir('root', ROOT_FILES.cert), dir('from-loaded'))).code).toBe(0);

    const loadedRoot = await loadCertificateAuthority(dir('root'));
    expect(loadedRoot.isRoot).toBe(true);
    expect(loadedRoot.trustDomain).toBe('cluster.local');
    expect(fingerprintSha256(loadedRoot.root)).toBe(fingerprintSha256(root.certificate));
  });

  it('loadCertificateAuthority names what is missing in a directory without a CA', async () => {
    const empty = await tempDir('empty-ca');
    try {
      await expect(loadCertificateAuthority(empty.dir)).rejects.toSatisfy((err: unknown) =>
        err instanceof PkiError && err.code === 'ERR_PKI_LAYOUT' && err.message.includes('root-cert.pem') && (err.hint ?? '').includes('isthmus ca init'));
    } finally {
      await empty.cleanup();
    }
  });

  it('loads an Istio cacerts directory made with openssl (EC PRIVATE KEY, no SPIFFE ID) and issues chains openssl accepts', async () => {
    const d = dir('openssl-cacerts');
    const o = async (...args: string[]) => {
      const r = await openssl(args, { cwd: work.dir });
      expect(r.code, `openssl ${args.join(' ')}: ${r.stderr}`).toBe(0);
    };
    await o('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', dir('o-root-key.pem'), '-out', join(work.dir, 'o-root.pem'),
      '-subj', '/O=Corp/CN=Corp Root', '-days', '30', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    await o('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', dir('o-ca-key.pem'));
    await o('req', '-new', '-key', dir('o-ca-key.pem'), '-subj', '/O=Corp/CN=Corp Mesh CA', '-out', dir('o-ca.csr'));
    await writeFile(dir('o-ext.cnf'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
    await o('x509', '-req', '-in', dir('o-ca.csr'), '-CA', dir('o-root.pem'), '-CAkey', dir('o-root-key.pem'), '-set_serial', '7', '-days', '10', '-extfile', dir('o-ext.cnf'), '-out', dir('o-ca.pem'));
    const caPem = await readFile(dir('o-ca.pem'), 'utf8');
    const rootPem = await readFile(dir('o-root.pem'), 'utf8');
    const keyPem = await readFile(dir('o-ca-key.pem'), 'utf8');
    expect(keyPem).toContain('BEGIN EC PRIVATE KEY');
    await mkdir(d);
    await writeFile(join(d, PLUGIN_CA_FILES.cert), caPem);
    await writeFile(join(d, PLUGIN_CA_FILES.key), keyPem);
    await writeFile(join(d, PLUGIN_CA_FILES.root), rootPem);
    await writeFile(join(d, PLUGIN_CA_FILES.chain), caPem + rootPem);
    const loaded = await loadCertificateAuthority(d);
    expect(loaded.trustDomain).toBe('cluster.local'); // Istio's default when the CA carries no SPIFFE ID
    expect(loaded.chain).toHaveLength(1);
    const leaf = await issueTo(loaded, 'from-openssl-ca', SLEEP);
    const r = await verify(dir('o-root.pem'), leaf, '-x509_strict');
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});

describe('RSA-2048 CAs', () => {
  it('an RSA root and intermediate issue RSA and ECDSA leaves that openssl verifies', async () => {
    const rsaRoot = await CertificateAuthority.createRoot({ trustDomain: 'rsa.example', keyType: 'rsa-2048' });
    const rsaMesh = await rsaRoot.createIntermediate({ name: 'rsa-mesh-ca' });
    expect(rsaMesh.keyType).toBe('rsa-2048');
    await writeRootCa(dir('rsa-root'), rsaRoot);
    await writePluginCa(dir('rsa-mesh'), rsaMesh);
    const loaded = await loadCertificateAuthority(dir('rsa-mesh'));
    expect(loaded.keyType).toBe('rsa-2048');
    const rsaLeaf = await issueTo(loaded, 'rsa-leaf', 'spiffe://rsa.example/ns/a/sa/b', { keyType: 'rsa-2048' });
    const ecLeaf = await issueTo(loaded, 'ec-leaf', 'spiffe://rsa.example/ns/a/sa/c');
    for (const leaf of [rsaLeaf, ecLeaf]) {
      const r = await verify(dir('rsa-root', ROOT_FILES.cert), leaf, '-x509_strict', '-purpose', 'sslserver');
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    const text = (await openssl(['x509', '-in', join(rsaLeaf, WORKLOAD_FILES.cert), '-noout', '-text'])).stdout;
    expect(text).toContain('Public-Key: (2048 bit)');
    expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(text).toContain('URI:spiffe://rsa.example/ns/a/sa/b');
    expect(await publicKeyOfKey(dir('rsa-mesh', PLUGIN_CA_FILES.key))).toBe(await publicKeyOfCert(dir('rsa-mesh', PLUGIN_CA_FILES.cert)));
    expect(spiffeUris(loaded.certificate)).toEqual(['spiffe://rsa.example']);
  });

  it('an EC intermediate under an RSA root', async () => {
    const rsaRoot = await loadCertificateAuthority(dir('rsa-root'));
    const ecMesh = await rsaRoot.createIntermediate({ name: 'ec-under-rsa', keyType: 'ec-p256' });
    expect(ecMesh.keyType).toBe('ec-p256');
    const leaf = await issueTo(ecMesh, 'ec-under-rsa-leaf', 'spiffe://rsa.example/ns/a/sa/d');
    const r = await verify(dir('rsa-root', ROOT_FILES.cert), leaf);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});
