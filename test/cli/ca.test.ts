// `isthmus ca ...` end to end: the built CLI (node dist/cli/main.js) in child processes, checked with openssl.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCertificateAuthority, parseCertificates, verifyBootstrapToken } from '../../src/pki/index.js';
import { isthmus, openssl, tempDir } from '../helpers/index.js';

const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';

let work: { dir: string; cleanup: () => Promise<void> };
const dir = (...parts: string[]) => join(work.dir, ...parts);

/** Runs the CLI and expects success, returning stdout. */
async function ok(args: string[]): Promise<string> {
  const r = await isthmus(args);
  expect(r.code, `isthmus ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Runs the CLI and expects a clear failure: non-zero exit, "error:" on stderr, nothing on stdout. */
async function fails(args: string[]): Promise<string> {
  const r = await isthmus(args);
  expect(r.code, `isthmus ${args.join(' ')} should fail; stdout: ${r.stdout}`).not.toBe(0);
  expect(r.stderr).toMatch(/^error: /);
  expect(r.stdout).toBe('');
  return r.stderr;
}

const fingerprint = async (file: string) => (await openssl(['x509', '-in', file, '-noout', '-fingerprint', '-sha256'])).stdout;

beforeAll(async () => {
  work = await tempDir('cli-ca');
});
afterAll(async () => {
  await work?.cleanup();
});

describe('isthmus --help', () => {
  it('lists the commands', async () => {
    const help = await ok(['--help']);
    expect(help).toMatch(/Usage: isthmus/);
    expect(help).toMatch(/^\s+ca\s/m);
    expect(help).toMatch(/^\s+quickstart\b/m);
    const caHelp = await ok(['ca', '--help']);
    for (const command of ['init', 'intermediate', 'issue', 'inspect', 'bundle', 'token', 'serve', 'request']) {
      expect(caHelp).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    }
  });

  it('an unknown command fails and points at --help', async () => {
    const r = await isthmus(['ca', 'frobnicate']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--help');
  });
});

describe('isthmus ca: a root, intermediates, workload certificates', () => {
  it('ca init writes a root CA (key mode 0600) and reports it as JSON', async () => {
    const out = JSON.parse(await ok(['ca', 'init', '--dir', dir('root'), '--trust-domain', 'cluster.local', '-o', 'json'])) as Record<string, string>;
    expect(out).toMatchObject({ dir: dir('root'), trustDomain: 'cluster.local', keyType: 'ec-p256', subject: 'CN=Isthmus Root CA, O=cluster.local' });
    expect(((await stat(dir('root', 'root-key.pem'))).mode & 0o777).toString(8)).toBe('600');
    const text = (await openssl(['x509', '-in', dir('root', 'root-cert.pem'), '-noout', '-text'])).stdout;
    expect(text).toContain('URI:spiffe://cluster.local');
    expect(text).toContain('CA:TRUE');
    expect(out.fingerprintSha256).toBe((await fingerprint(dir('root', 'root-cert.pem'))).trim().split('=')[1]);
  });

  it('ca init refuses to overwrite an existing CA without --force, and replaces it with --force', async () => {
    const before = await fingerprint(dir('root', 'root-cert.pem'));
    const stderr = await fails(['ca', 'init', '--dir', dir('root'), '--trust-domain', 'cluster.local']);
    expect(stderr).toContain('already holds root-cert.pem, root-key.pem');
    expect(stderr).toContain('fix:');
    expect(stderr).toContain('--force');
    expect(await fingerprint(dir('root', 'root-cert.pem'))).toBe(before);

    await ok(['ca', 'init', '--dir', dir('root-forced'), '--trust-domain', 'cluster.local']);
    const first = await fingerprint(dir('root-forced', 'root-cert.pem'));
    await ok(['ca', 'init', '--dir', dir('root-forced'), '--trust-domain', 'cluster.local', '--force']);
    expect(await fingerprint(dir('root-forced', 'root-cert.pem'))).not.toBe(first);
  });

  it('ca init --key-type rsa-2048 makes an RSA root', async () => {
    const out = JSON.parse(await ok(['ca', 'init', '--dir', dir('rsa-root'), '--trust-domain', 'rsa.example', '--key-type', 'rsa-2048', '--ttl', '30d', '-o', 'json'])) as Record<string, string>;
    expect(out.keyType).toBe('rsa-2048');
    expect((await openssl(['x509', '-in', dir('rsa-root', 'root-cert.pem'), '-noout', '-text'])).stdout).toContain('Public-Key: (2048 bit)');
    const days = (new Date(out.notAfter as string).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
  });

  it('ca intermediate writes the Istio plug-in layout for mesh-ca and for vm-ca with its own trust domain', async () => {
    const table = await ok(['ca', 'intermediate', '--root', dir('root'), '--dir', dir('mesh-ca'), '--name', 'mesh-ca']);
    expect(table).toContain('kubectl create secret generic cacerts');
    const vm = JSON.parse(await ok(['ca', 'intermediate', '--root', dir('root'), '--dir', dir('vm-ca'), '--name', 'vm-ca', '--trust-domain', 'vm.local', '-o', 'json'])) as Record<string, string>;
    expect(vm).toMatchObject({ name: 'vm-ca', trustDomain: 'vm.local', issuer: 'CN=Isthmus Root CA, O=cluster.local' });
    for (const ca of ['mesh-ca', 'vm-ca']) {
      for (const f of ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem']) expect(existsSync(dir(ca, f)), `${ca}/${f}`).toBe(true);
      expect(((await stat(dir(ca, 'ca-key.pem'))).mode & 0o777).toString(8)).toBe('600');
      expect(parseCertificates(await readFile(dir(ca, 'cert-chain.pem'), 'utf8'))).toHaveLength(2);
      const r = await openssl(['verify', '-CAfile', dir('root', 'root-cert.pem'), dir(ca, 'ca-cert.pem')]);
      expect(r.code, r.stderr).toBe(0);
    }
    expect((await loadCertificateAuthority(dir('vm-ca'))).trustDomain).toBe('vm.local');
  });

  it('ca issue writes cert.pem, key.pem, ca-cert.pem that openssl verifies', async () => {
    const out = JSON.parse(await ok(['ca', 'issue', '--ca', dir('mesh-ca'), '--spiffe', SLEEP, '--out', dir('sleep'), '--dns', 'sleep.default.svc', '--ttl', '1h', '-o', 'json'])) as Record<string, unknown>;
    expect(out.spiffeId).toBe(SLEEP);
    expect(out.isCA).toBe(false);
    expect((out.subjectAltNames as { dns: string[] }).dns).toEqual(['sleep.default.svc']);
    expect(((await stat(dir('sleep', 'key.pem'))).mode & 0o777).toString(8)).toBe('600');
    const r = await openssl(['verify', '-x509_strict', '-CAfile', dir('sleep', 'ca-cert.pem'), '-untrusted', dir('sleep', 'cert.pem'), dir('sleep', 'cert.pem')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await openssl(['x509', '-in', dir('sleep', 'cert.pem'), '-noout', '-text'])).stdout).toContain(`URI:${SLEEP}`);
    const lifetime = new Date(out.notAfter as string).getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(3_500_000);
    expect(lifetime).toBeLessThanOrEqual(3_600_000);
    await ok(['ca', 'issue', '--ca', dir('vm-ca'), '--spiffe', 'spiffe://vm.local/vm/vm-1', '--out', dir('vm')]);
    const vm = await openssl(['verify', '-CAfile', dir('root', 'root-cert.pem'), '-untrusted', dir('vm', 'cert.pem'), dir('vm', 'cert.pem')]);
    expect(vm.code, vm.stderr).toBe(0);
  });

  it('ca inspect -o json describes the chain and verifies it against a bundle', async () => {
    const out = JSON.parse(await ok(['ca', 'inspect', dir('sleep', 'cert.pem'), '--bundle', dir('root'), '-o', 'json'])) as {
      certificates: Array<{ spiffeId?: string; isCA: boolean; subject: string; renewalDue: boolean }>;
      verification: { verified: boolean; spiffeId: string; path: string[] };
    };
    expect(out.certificates).toHaveLength(2);
    expect(out.certificates[0]).toMatchObject({ spiffeId: SLEEP, isCA: false, renewalDue: false });
    expect(out.certificates[1]).toMatchObject({ isCA: true, subject: 'CN=mesh-ca, O=cluster.local' });
    expect(out.verification).toEqual({ verified: true, spiffeId: SLEEP, path: ['(empty subject)', 'CN=mesh-ca, O=cluster.local', 'CN=Isthmus Root CA, O=cluster.local'] });
    const table = await ok(['ca', 'inspect', dir('sleep', 'cert.pem')]);
    expect(table).toMatch(/SPIFFE ID\s+spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep/);
    expect(table).toContain('certificate 1 of 2 (leaf)');
  });

  it('ca inspect exits 1 when the chain does not verify against the bundle', async () => {
    const r = await isthmus(['ca', 'inspect', dir('sleep', 'cert.pem'), '--bundle', dir('rsa-root'), '-o', 'json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { verification: { verified: boolean; error: string } };
    expect(out.verification.verified).toBe(false);
    expect(out.verification.error).toContain('does not chain');
  });

  it('ca bundle merges roots, once each', async () => {
    const out = JSON.parse(await ok(['ca', 'bundle', dir('root'), dir('rsa-root', 'root-cert.pem'), dir('sleep'), '--out', dir('bundle.pem'), '-o', 'json'])) as { roots: Array<{ trustDomain: string }> };
    expect(out.roots.map((r) => r.trustDomain)).toEqual(['cluster.local', 'rsa.example']);
    expect(parseCertificates(await readFile(dir('bundle.pem'), 'utf8'))).toHaveLength(2);
    const stderr = await fails(['ca', 'bundle', dir('sleep', 'cert.pem'), '--out', dir('bad-bundle.pem')]);
    expect(stderr).toContain('is not a CA certificate');
    expect(stderr).toContain('fix:');
    expect(existsSync(dir('bad-bundle.pem'))).toBe(false);
  });

  it('ca token makes a bootstrap token the CA verifies', async () => {
    const token = (await ok(['ca', 'token', '--ca', dir('mesh-ca'), '--spiffe', SLEEP, '--ttl', '10m'])).trim();
    expect(token.split('.')).toHaveLength(3);
    expect(await verifyBootstrapToken(await loadCertificateAuthority(dir('mesh-ca')), token)).toBe(SLEEP);
    const json = JSON.parse(await ok(['ca', 'token', '--ca', dir('mesh-ca'), '--spiffe', SLEEP, '-o', 'json'])) as { token: string; spiffeId: string };
    expect(json.spiffeId).toBe(SLEEP);
    await expect(verifyBootstrapToken(await loadCertificateAuthority(dir('vm-ca')), json.token)).rejects.toMatchObject({ code: 'ERR_PKI_TOKEN' });
  });
});

describe('isthmus ca: bad input names what to fix', () => {
  // Independent child processes: run them side by side.
  it.concurrent.for([
    ['an invalid SPIFFE ID', ['ca', 'issue', '--ca', 'mesh-ca', '--spiffe', 'cluster.local/ns/default/sa/sleep', '--out', 'x'], ['invalid SPIFFE ID "cluster.local/ns/default/sa/sleep"', 'fix: write it as spiffe://']],
    ['a SPIFFE ID without a path', ['ca', 'issue', '--ca', 'mesh-ca', '--spiffe', 'spiffe://cluster.local', '--out', 'x'], ['names a trust domain, not a workload', 'fix:']],
    ['a bad --ttl', ['ca', 'issue', '--ca', 'mesh-ca', '--spiffe', SLEEP, '--out', 'x', '--ttl', 'forever'], ['invalid --ttl "forever"', 'fix: write a positive duration']],
    ['a zero --ttl', ['ca', 'init', '--dir', 'x', '--trust-domain', 'cluster.local', '--ttl', '0s'], ['invalid --ttl "0s"', 'fix:']],
    ['an unknown key type', ['ca', 'init', '--dir', 'x', '--trust-domain', 'cluster.local', '--key-type', 'dsa-1024'], ['unknown key type "dsa-1024"', 'fix: use one of: ec-p256, rsa-2048']],
    ['an invalid trust domain', ['ca', 'init', '--dir', 'x', '--trust-domain', 'Cluster.Local'], ['trust domain may hold only lower-case letters', 'fix:']],
    ['a directory without a CA', ['ca', 'issue', '--ca', 'x', '--spiffe', SLEEP, '--out', 'y'], ['holds no CA', 'fix: create one with `isthmus ca init']],
    ['a bad --port', ['ca', 'serve', '--ca', 'mesh-ca', '--port', 'http'], ['invalid --port "http"', 'fix:']],
    ['an unknown output format', ['-o', 'xml', 'ca', 'token', '--ca', 'mesh-ca', '--spiffe', SLEEP], ['unknown output format "xml"', 'fix:']],
    ['a missing required option', ['ca', 'init', '--dir', 'x'], ["required option '--trust-domain <domain>' not specified", '--help']],
  ] as Array<[string, string[], string[]]>)('%s', async ([, args, expected], { expect }) => {
    // Relative paths resolve in the temp dir, where mesh-ca exists and x does not.
    const r = await isthmus(args, { cwd: work.dir });
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stderr).toMatch(/^error: /);
    for (const text of expected) expect(r.stderr).toContain(text);
    expect(existsSync(dir('x')), 'nothing is written on bad input').toBe(false);
  });
});
