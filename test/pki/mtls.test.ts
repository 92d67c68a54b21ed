// Mutual TLS between real peers: openssl s_server, curl, openssl s_client and a node:https server,
// all with certificates from src/pki.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, PkiError, WORKLOAD_FILES, toPem, verifyPeerChain, writeWorkload } from '../../src/pki/index.js';
import type { IssueOptions } from '../../src/pki/index.js';
import type { Background } from '../helpers/index.js';
import { openssl, peerChain, run, startBackground, tempDir, writePem } from '../helpers/index.js';

const HOUR = 3_600_000;
const SERVER_NAME = 'httpbin.test';

let work: { dir: string; cleanup: () => Promise<void> };
let root: CertificateAuthority;
let meshCa: CertificateAuthority;
let vmCa: CertificateAuthority;
let rootFile: string;
/** Workload directories (cert.pem = leaf + intermediate, key.pem, ca-cert.pem) by name. */
const workloads: Record<string, string> = {};

async function workload(name: string, ca: CertificateAuthority, options: IssueOptions): Promise<string> {
  const issued = await ca.issueWithNewKey(options);
  const dir = join(work.dir, name);
  await writeWorkload(dir, issued, issued.keys.privateKey, [ca.root]);
  // openssl s_server/s_client take the intermediates separately (-cert_chain).
  await writePem(dir, 'intermediates.pem', issued.chain.filter((c) => c.subject !== c.issuer));
  workloads[name] = dir;
  return dir;
}

const file = (name: string, f: string) => join(workloads[name] as string, f);

/** curl with a client certificate to https://httpbin.test:PORT/ pinned to 127.0.0.1. */
function curl(port: number, client: string | null, extra: string[] = []) {
  const args = ['-sS', '--max-time', '10', '--cacert', rootFile, '--resolve', `${SERVER_NAME}:${port}:127.0.0.1`, ...extra];
  if (client) args.push('--cert', file(client, WORKLOAD_FILES.cert), '--key', file(client, WORKLOAD_FILES.key));
  return run('curl', [...args, `https://${SERVER_NAME}:${port}/`]);
}

beforeAll(async () => {
  work = await tempDir('mtls');
  root = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
  meshCa = await root.createIntermediate({ name: 'mesh-ca' });
  vmCa = await root.createIntermediate({ name: 'vm-ca', trustDomain: 'vm.local' });
  rootFile = await writePem(work.dir, 'root-cert.pem', [root.certificate]);
  const otherRoot = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
  const otherMesh = await otherRoot.createIntermediate({ name: 'mesh-ca' });
  await workload('httpbin', meshCa, { spiffeId: 'spiffe://cluster.local/ns/default/sa/httpbin', dnsNames: [SERVER_NAME] });
  await workload('sleep', meshCa, { spiffeId: 'spiffe://cluster.local/ns/default/sa/sleep' });
  await workload('stranger', otherMesh, { spiffeId: 'spiffe://cluster.local/ns/default/sa/sleep' });
  await workload('expired', meshCa, { spiffeId: 'spiffe://cluster.local/ns/default/sa/sleep', ttlMs: 60_000, now: new Date(Date.now() - 2 * HOUR) });
  await workload('vm', vmCa, { spiffeId: 'spiffe://vm.local/vm/vm-1' });
});
afterAll(async () => {
  await work?.cleanup();
});

describe('openssl s_server requiring a client certificate', () => {
  let server: Background | undefined;
  let port = 0;

  beforeAll(async () => {
    server = await startBackground('openssl', [
      's_server', '-accept', '127.0.0.1:0', '-www',
      '-cert', file('httpbin', WORKLOAD_FILES.cert), '-cert_chain', file('httpbin', 'intermediates.pem'), '-key', file('httpbin', WORKLOAD_FILES.key),
      '-CAfile', rootFile, '-Verify', '1', '-verify_return_error',
    ], /ACCEPT 127\.0\.0\.1:(\d+)/);
    port = Number(server.ready[1]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('curl with an issued client certificate completes mutual TLS', async () => {
    const r = await curl(port, 'sleep');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('s_server -accept 127.0.0.1:0');
    expect(r.stdout).toMatch(/Cipher is|Ciphers supported/);
  });

  it('openssl s_client with an issued client certificate verifies the server and is verified', async () => {
    const r = await openssl([
      's_client', '-connect', `127.0.0.1:${port}`, '-servername', SERVER_NAME, '-verify_hostname', SERVER_NAME, '-verify_return_error',
      '-CAfile', rootFile, '-cert', file('sleep', WORKLOAD_FILES.cert), '-cert_chain', file('sleep', 'intermediates.pem'), '-key', file('sleep', WORKLOAD_FILES.key),
      '-ign_eof',
    ], { input: 'GET / HTTP/1.0\r\n\r\n' });
    expect(r.stdout).toContain('Verify return code: 0 (ok)');
    expect(r.stdout).toContain('subject=');
    expect(r.stdout).toContain('HTTP/1.0 200 ok');
    expect(r.code).toBe(0);
  });

  it('curl without a client certificate is refused', async () => {
    const r = await curl(port, null);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain('s_server');
    expect(r.stderr).toMatch(/alert|certificate required/i);
  });

  it('a client certificate from another root (same trust domain and SPIFFE ID) is refused', async () => {
    const r = await curl(port, 'stranger');
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain('s_server');
    expect(r.stderr).toMatch(/unknown ca/i);
    expect(server?.output()).toMatch(/unable to get local issuer certificate|certificate signature failure/);
  });

  it('an expired client certificate is refused', async () => {
    const r = await curl(port, 'expired');
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain('s_server');
    expect(r.stderr).toMatch(/certificate expired/i);
    expect(server?.output()).toContain('certificate has expired');
  });

  it('still serves a good client after the refusals', async () => {
    const r = await curl(port, 'sleep');
    expect(r.code, r.stderr).toBe(0);
  });

  it('curl refuses a server whose certificate is for another name (hostname check is real)', async () => {
    const r = await run('curl', ['-sS', '--max-time', '10', '--cacert', rootFile, '--cert', file('sleep', WORKLOAD_FILES.cert), '--key', file('sleep', WORKLOAD_FILES.key),
      '--resolve', `other.test:${port}:127.0.0.1`, `https://other.test:${port}/`]);
    expect(r.code).toBe(60);
  });
});

describe('node:https server checking SPIFFE trust domains with verifyPeerChain, curl as the client', () => {
  let server: Server | undefined;
  let port = 0;
  let allowedTrustDomains: readonly string[] | 'any' = [];

  beforeAll(async () => {
    server = createServer({
      cert: await readFile(file('httpbin', WORKLOAD_FILES.cert)),
      key: await readFile(file('httpbin', WORKLOAD_FILES.key)),
      ca: toPem([root.certificate]),
      requestCert: true,
      rejectUnauthorized: true,
    }, (req, res) => {
      try {
        const peer = verifyPeerChain(peerChain(req.socket as TLSSocket), { roots: [root.certificate], trustDomain: 'cluster.local', allowedTrustDomains, role: 'client' });
        res.end(`hello ${peer.spiffeId.uri}\n`);
      } catch (err) {
        res.writeHead(403, { 'content-type': 'text/plain' });
        res.end(`denied ${err instanceof PkiError ? err.code : 'error'}: ${(err as Error).message}\n`);
      }
    });
    const listening = server;
    await new Promise<void>((done) => listening.listen(0, '127.0.0.1', done));
    port = (listening.address() as AddressInfo).port;
  });
  afterAll(async () => {
    const listening = server;
    if (!listening) return;
    listening.closeAllConnections();
    await new Promise((done) => listening.close(done));
  });

  const status = ['-w', '\n%{http_code}'];

  it('refuses a VM certificate of trust domain vm.local (403, ERR_PKI_TRUST_DOMAIN)', async () => {
    allowedTrustDomains = [];
    const r = await curl(port, 'vm', status);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/403$/);
    expect(r.stdout).toContain('denied ERR_PKI_TRUST_DOMAIN');
    expect(r.stdout).toContain('spiffe://vm.local/vm/vm-1');
  });

  it('accepts a cluster.local certificate with the same setting', async () => {
    allowedTrustDomains = [];
    const r = await curl(port, 'sleep', status);
    expect(r.stdout).toBe('hello spiffe://cluster.local/ns/default/sa/sleep\n\n200');
  });

  it('accepts the VM certificate when vm.local is among the allowed trust domains', async () => {
    allowedTrustDomains = ['other.local', 'vm.local'];
    const r = await curl(port, 'vm', status);
    expect(r.stdout).toBe('hello spiffe://vm.local/vm/vm-1\n\n200');
  });

  it('accepts the VM certificate with "any" (PILOT_SKIP_VALIDATE_TRUST_DOMAIN)', async () => {
    allowedTrustDomains = 'any';
    const r = await curl(port, 'vm', status);
    expect(r.stdout).toBe('hello spiffe://vm.local/vm/vm-1\n\n200');
  });

  it('"any" does not let in a certificate from another root: the TLS handshake fails', async () => {
    allowedTrustDomains = 'any';
    const r = await curl(port, 'stranger', status);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain('hello');
  });
});
