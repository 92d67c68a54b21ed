// `isthmus ca serve` as a child process on a port it picks, and `isthmus ca request` against it:
// first certificate with a bootstrap token, then renewal with the certificate itself.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, parseCertificates, spiffeUris, writePluginCa, writeRootCa } from '../../src/pki/index.js';
import type { Background } from '../helpers/index.js';
import { CLI, isthmus, openssl, startBackground, tempDir } from '../helpers/index.js';

const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';

let work: { dir: string; cleanup: () => Promise<void> };
let serve: Background | undefined;
let address = '';
const dir = (...parts: string[]) => join(work.dir, ...parts);

async function leafOf(certDir: string) {
  return parseCertificates(await readFile(join(certDir, 'cert.pem'), 'utf8'))[0]!;
}

async function token(spiffeId: string): Promise<string> {
  const r = await isthmus(['ca', 'token', '--ca', dir('mesh-ca'), '--spiffe', spiffeId]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

beforeAll(async () => {
  work = await tempDir('cli-serve');
  const root = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
  await writeRootCa(dir('root'), root);
  await writePluginCa(dir('mesh-ca'), await root.createIntermediate({ name: 'mesh-ca' }));
  serve = await startBackground(process.execPath, [CLI, 'ca', 'serve', '--ca', dir('mesh-ca'), '--port', '0', '--max-ttl', '48h'], /listening on 127\.0\.0\.1:(\d+)/);
  address = `127.0.0.1:${serve.ready[1]}`;
});
afterAll(async () => {
  await serve?.stop();
  await work?.cleanup();
});

describe('isthmus ca serve + ca request', () => {
  it('serves on the port it picked', () => {
    expect(Number(serve?.ready[1])).toBeGreaterThan(0);
    expect(serve?.output()).toContain('CA service for trust domain "cluster.local"');
  });

  it('ca request --token gets a first certificate', async () => {
    const r = await isthmus(['ca', 'request', '--ca-server', address, '--root', dir('root', 'root-cert.pem'), '--spiffe', SLEEP, '--out', dir('sleep'), '--token', await token(SLEEP), '--ttl', '2h']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`received ${SLEEP}`);
    expect(((await stat(dir('sleep', 'key.pem'))).mode & 0o777).toString(8)).toBe('600');
    const v = await openssl(['verify', '-CAfile', dir('sleep', 'ca-cert.pem'), '-untrusted', dir('sleep', 'cert.pem'), dir('sleep', 'cert.pem')]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const leaf = await leafOf(dir('sleep'));
    expect(spiffeUris(leaf)).toEqual([SLEEP]);
    expect(leaf.notAfter.getTime() - Date.now()).toBeGreaterThan(2 * 3_600_000 - 60_000);
    expect(serve?.output()).toContain('certificate issued');
  });

  it('ca request --cert-dir renews with the current certificate, in place', async () => {
    const before = await leafOf(dir('sleep'));
    const oldKey = await readFile(dir('sleep', 'key.pem'), 'utf8');
    const r = await isthmus(['ca', 'request', '--ca-server', address, '--root', dir('root', 'root-cert.pem'), '--spiffe', SLEEP, '--cert-dir', dir('sleep'), '--out', dir('sleep'), '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { spiffeId: string; serialNumber: string; dir: string };
    expect(out.spiffeId).toBe(SLEEP);
    expect(out.dir).toBe(dir('sleep'));
    const after = await leafOf(dir('sleep'));
    expect(after.serialNumber).toBe(out.serialNumber);
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(await readFile(dir('sleep', 'key.pem'), 'utf8')).not.toBe(oldKey);
    const v = await openssl(['verify', '-CAfile', dir('root', 'root-cert.pem'), '-untrusted', dir('sleep', 'cert.pem'), dir('sleep', 'cert.pem')]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    // The renewed certificate renews again: the chain the CLI wrote is one the service accepts.
    const again = await isthmus(['ca', 'request', '--ca-server', address, '--root', dir('root'), '--spiffe', SLEEP, '--cert-dir', dir('sleep'), '--out', dir('sleep-2')]);
    expect(again.code, again.stderr).toBe(0);
  });

  it('ca request for another identity than the token names is refused with the reason', async () => {
    const r = await isthmus(['ca', 'request', '--ca-server', address, '--root', dir('root', 'root-cert.pem'), '--spiffe', 'spiffe://cluster.local/ns/kube-system/sa/admin', '--out', dir('admin'), '--token', await token(SLEEP)]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('the CA service refused');
    expect(r.stderr).toContain(`entitled only to ${SLEEP}`);
  });

  it('ca request without credentials says what to pass', async () => {
    const r = await isthmus(['ca', 'request', '--ca-server', address, '--root', dir('root', 'root-cert.pem'), '--spiffe', SLEEP, '--out', dir('none')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no credentials');
    expect(r.stderr).toContain('fix: pass --token');
  });

  it('stops on SIGTERM and exits cleanly', async () => {
    const ended = await serve?.stop();
    expect(ended).toEqual({ code: 0, signal: null });
    const r = await isthmus(['ca', 'request', '--ca-server', address, '--root', dir('root', 'root-cert.pem'), '--spiffe', SLEEP, '--out', dir('late'), '--token', await token(SLEEP)], { timeoutMs: 15_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('the CA service refused or failed');
  });
});
