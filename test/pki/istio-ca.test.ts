// The Istio-compatible CSR service over real gRPC/TLS on 127.0.0.1, with real gRPC clients.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CA_SERVER_NAME, CertificateAuthority, IstioCaServer, createCsr, exportPrivateKeyPem, generateKeyPair, isCertificateAuthority,
  issueBootstrapToken, parseCertificates, requestCertificate, spiffeUris, toPem, verifyPeerChain,
} from '../../src/pki/index.js';
import type { Certificate, CertificateResponse } from '../../src/pki/index.js';
import { istioCertificateService } from '../../src/pki/istio-ca/proto.js';
import type { IstioCertificateRequest, IstioCertificateResponse } from '../../src/pki/istio-ca/proto.js';
import { opensslCsr, tempDir } from '../helpers/index.js';

const HOUR = 3_600_000;
const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';
const ADMIN = 'spiffe://cluster.local/ns/istio-system/sa/admin';

let work: { dir: string; cleanup: () => Promise<void> };
let root: CertificateAuthority;
let meshCa: CertificateAuthority;
let vmCa: CertificateAuthority;
let otherMesh: CertificateAuthority;
let server: IstioCaServer;
let rootsPem: string;
let address: string;

/** The generated client's method, as grpc-js builds it from the proto. */
type CaClient = {
  CreateCertificate(
    request: IstioCertificateRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, response?: IstioCertificateResponse) => void,
  ): void;
};
type ClientCertificate = { certPem: string; keyPem: string };
type CallResult = { ok: true; chain: Certificate[] } | { ok: false; code: grpc.status; details: string };

/** A hand-driven IstioCertificateService call: any CSR, any credentials, any metadata. */
async function rawCall(request: { csr: string; validitySeconds?: number; token?: string; authorization?: string; clientCertificate?: ClientCertificate; metadata?: unknown; port?: number }): Promise<CallResult> {
  const Client = istioCertificateService();
  const credentials = grpc.credentials.createSsl(
    Buffer.from(rootsPem),
    request.clientCertificate ? Buffer.from(request.clientCertificate.keyPem) : null,
    request.clientCertificate ? Buffer.from(request.clientCertificate.certPem) : null,
  );
  const client = new Client(`127.0.0.1:${request.port ?? server.port}`, credentials, { 'grpc.ssl_target_name_override': CA_SERVER_NAME });
  const metadata = new grpc.Metadata();
  if (request.token) metadata.set('authorization', `Bearer ${request.token}`);
  if (request.authorization) metadata.set('authorization', request.authorization);
  const message: IstioCertificateRequest = { csr: request.csr, validity_duration: request.validitySeconds ?? 0, ...(request.metadata ? { metadata: request.metadata } : {}) };
  try {
    return await new Promise<CallResult>((resolve) => {
      (client as unknown as CaClient).CreateCertificate(message, metadata, { deadline: Date.now() + 10_000 }, (err, res) => {
        if (err) resolve({ ok: false, code: err.code, details: err.details });
        else resolve({ ok: true, chain: (res?.cert_chain ?? []).flatMap((pem) => parseCertificates(pem)) });
      });
    });
  } finally {
    client.close();
  }
}

async function libraryCsr(spiffeId: string, dnsNames?: string[]): Promise<string> {
  return createCsr(await generateKeyPair(), { spiffeId, ...(dnsNames ? { dnsNames } : {}) });
}

async function asClientCertificate(response: CertificateResponse): Promise<ClientCertificate> {
  const [leaf, ...chain] = response.chain;
  return { certPem: toPem([leaf as Certificate, ...chain.filter((c) => c.subject !== c.issuer)]), keyPem: await exportPrivateKeyPem(response.keys.privateKey) };
}

async function clientCertificateFrom(ca: CertificateAuthority, spiffeId: string, extra: { ttlMs?: number; now?: Date } = {}): Promise<ClientCertificate> {
  const issued = await ca.issueWithNewKey({ spiffeId, ...extra });
  return { certPem: toPem([issued.certificate, ...issued.chain.filter((c) => c.subject !== c.issuer)]), keyPem: await exportPrivateKeyPem(issued.keys.privateKey) };
}

/** Runs a request that must be refused: checks the status and details and that nothing was issued. */
async function expectRefused(target: IstioCaServer, call: () => Promise<CallResult>, code: grpc.status, details: RegExp): Promise<string> {
  const issuedBefore = target.stats.issued;
  const refusedBefore = target.stats.refused;
  const result = await call();
  if (result.ok) throw new Error(`expected ${grpc.status[code]}, but a certificate for ${spiffeUris(result.chain[0] as Certificate).join(', ')} was issued`);
  expect(grpc.status[result.code]).toBe(grpc.status[code]);
  expect(result.details).toMatch(details);
  expect(target.stats.issued).toBe(issuedBefore);
  expect(target.stats.refused).toBe(refusedBefore + 1);
  return result.details;
}

beforeAll(async () => {
  work = await tempDir('istio-ca');
  root = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
  meshCa = await root.createIntermediate({ name: 'mesh-ca' });
  vmCa = await root.createIntermediate({ name: 'vm-ca', trustDomain: 'vm.local' });
  otherMesh = await (await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' })).createIntermediate({ name: 'mesh-ca' });
  rootsPem = toPem([root.certificate]);
  server = new IstioCaServer({ authority: meshCa, port: 0, maxTtlMs: 48 * HOUR });
  const port = await server.start();
  expect(port).toBeGreaterThan(0);
  expect(server.port).toBe(port);
  address = `127.0.0.1:${port}`;
});
afterAll(async () => {
  await server?.stop();
  await work?.cleanup();
});

describe('IstioCaServer issues', () => {
  let first: CertificateResponse;

  it('a first certificate to a caller with a bootstrap token (requestCertificate, as istio-agent does)', async () => {
    const before = server.stats.issued;
    const token = await issueBootstrapToken(meshCa, SLEEP, HOUR);
    first = await requestCertificate({ address, rootsPem, spiffeId: SLEEP, token, ttlMs: 2 * HOUR });
    expect(server.stats.issued).toBe(before + 1);
    const [leaf, ...chain] = first.chain;
    expect(spiffeUris(leaf as Certificate)).toEqual([SLEEP]);
    expect(isCertificateAuthority(leaf as Certificate)).toBe(false);
    expect(chain.map((c) => c.subject)).toEqual([meshCa.certificate.subject, root.certificate.subject]);
    const lifetime = (leaf as Certificate).notAfter.getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(2 * HOUR - 60_000);
    expect(lifetime).toBeLessThanOrEqual(2 * HOUR);
    expect(verifyPeerChain(first.chain, { roots: [root.certificate], trustDomain: 'cluster.local' }).spiffeId.uri).toBe(SLEEP);
  });

  it('a renewed certificate to a caller authenticated by its current certificate, for a new key', async () => {
    const before = server.stats.issued;
    const renewed = await requestCertificate({ address, rootsPem, spiffeId: SLEEP, clientCertificate: await asClientCertificate(first) });
    expect(server.stats.issued).toBe(before + 1);
    const leaf = renewed.chain[0] as Certificate;
    expect(spiffeUris(leaf)).toEqual([SLEEP]);
    expect(leaf.serialNumber).not.toBe((first.chain[0] as Certificate).serialNumber);
    expect(await exportPrivateKeyPem(renewed.keys.privateKey)).not.toBe(await exportPrivateKeyPem(first.keys.privateKey));
    // The CA's default TTL (24h) applies when the caller asks for none.
    expect(leaf.notAfter.getTime() - Date.now()).toBeGreaterThan(23 * HOUR);
  });

  it('a certificate for a CSR made by openssl, with a token', async () => {
    const { csrPem } = await opensslCsr(work.dir, { uris: [SLEEP] });
    const result = await rawCall({ csr: csrPem, token: await issueBootstrapToken(meshCa, SLEEP, HOUR) });
    expect(result.ok).toBe(true);
    if (result.ok) expect(spiffeUris(result.chain[0] as Certificate)).toEqual([SLEEP]);
  });
});

describe('IstioCaServer refuses, with a clear status, and issues nothing', () => {
  it('no credentials: UNAUTHENTICATED', async () => {
    const details = await expectRefused(server, async () => rawCall({ csr: await libraryCsr(SLEEP) }), grpc.status.UNAUTHENTICATED, /no credentials/);
    expect(details).toContain('fix:');
  });

  it('a CSR for another identity than the token names: PERMISSION_DENIED', async () => {
    const token = await issueBootstrapToken(meshCa, SLEEP, HOUR);
    const details = await expectRefused(server, async () => rawCall({ csr: await libraryCsr(ADMIN), token }), grpc.status.PERMISSION_DENIED, /entitled only to/);
    expect(details).toContain(ADMIN);
  });

  it('a CSR for another identity than the client certificate names: PERMISSION_DENIED', async () => {
    const clientCertificate = await clientCertificateFrom(meshCa, SLEEP);
    await expectRefused(server, async () => rawCall({ csr: await libraryCsr(ADMIN), clientCertificate }), grpc.status.PERMISSION_DENIED, /entitled only to spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep/);
  });

  it('a CSR with extra DNS names (e.g. the CA server name): PERMISSION_DENIED', async () => {
    const token = await issueBootstrapToken(meshCa, SLEEP, HOUR);
    await expectRefused(server, async () => rawCall({ csr: await libraryCsr(SLEEP, [CA_SERVER_NAME]), token }), grpc.status.PERMISSION_DENIED, /istiod\.istio-system\.svc/);
  });

  it('a CSR asking for a CA certificate (openssl basicConstraints=critical,CA:TRUE): PERMISSION_DENIED', async () => {
    const token = await issueBootstrapToken(meshCa, SLEEP, HOUR);
    const { csrPem } = await opensslCsr(work.dir, { uris: [SLEEP], ca: 'basicConstraints' });
    await expectRefused(server, () => rawCall({ csr: csrPem, token }), grpc.status.PERMISSION_DENIED, /CA certificate/);
  });

  it('a malformed CSR: INVALID_ARGUMENT', async () => {
    const token = await issueBootstrapToken(meshCa, SLEEP, HOUR);
    await expectRefused(server, () => rawCall({ csr: 'this is not a CSR', token }), grpc.status.INVALID_ARGUMENT, /not a PEM-encoded PKCS#10/);
  });

  it('a validity above the maximum: INVALID_ARGUMENT', async () => {
    const token = await issueBootstrapToken(meshCa, SLEEP, HOUR);
    await expectRefused(server, async () => rawCall({ csr: await libraryCsr(SLEEP), token, validitySeconds: 72 * 3600 }), grpc.status.INVALID_ARGUMENT, /greater than the maximum/);
  });

  it('a client certificate from another root: UNAUTHENTICATED', async () => {
    const clientCertificate = await clientCertificateFrom(otherMesh, SLEEP);
    // TLS does not accept the certificate, and the service must not call that "no certificate".
    const details = await expectRefused(server, async () => rawCall({ csr: await libraryCsr(SLEEP), clientCertificate }), grpc.status.UNAUTHENTICATED, /no client certificate that verifies against this CA's roots/);
    expect(details).toContain('another root');
  });

  it('an expired client certificate: UNAUTHENTICATED', async () => {
    const clientCertificate = await clientCertificateFrom(meshCa, SLEEP, { ttlMs: 60_000, now: new Date(Date.now() - 2 * HOUR) });
    await expectRefused(server, async () => rawCall({ csr: await libraryCsr(SLEEP), clientCertificate }), grpc.status.UNAUTHENTICATED, /no client certificate that verifies against this CA's roots \(a certificate that is expired/);
  });

  it('an expired token: UNAUTHENTICATED', async () => {
    const token = await issueBootstrapToken(meshCa, SLEEP, 1);
    await new Promise((r) => setTimeout(r, 20));
    await expectRefused(server, async () => rawCall({ csr: await libraryCsr(SLEEP), token }), grpc.status.UNAUTHENTICATED, /token is not valid: it has expired/);
  });

  it('a token signed by another CA: UNAUTHENTICATED', async () => {
    const token = await issueBootstrapToken(otherMesh, SLEEP, HOUR);
    await expectRefused(server, async () => rawCall({ csr: await libraryCsr(SLEEP), token }), grpc.status.UNAUTHENTICATED, /token is not valid/);
  });

  it('an authorization header that is not a bearer token: UNAUTHENTICATED', async () => {
    await expectRefused(server, async () => rawCall({ csr: await libraryCsr(SLEEP), authorization: 'Basic c2xlZXA6cGFzcw==' }), grpc.status.UNAUTHENTICATED, /Bearer/);
  });

  it('impersonation through ImpersonatedIdentity metadata: PERMISSION_DENIED', async () => {
    const token = await issueBootstrapToken(meshCa, SLEEP, HOUR);
    const metadata = { fields: { ImpersonatedIdentity: { string_value: ADMIN } } };
    await expectRefused(server, async () => rawCall({ csr: await libraryCsr(ADMIN), token, metadata }), grpc.status.PERMISSION_DENIED, /impersonation/);
  });

  it('requestCertificate surfaces the refusal to its caller', async () => {
    const before = server.stats.issued;
    await expect(requestCertificate({ address, rootsPem, spiffeId: SLEEP, token: await issueBootstrapToken(otherMesh, SLEEP, HOUR) }))
      .rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(server.stats.issued).toBe(before);
  });
});

describe('IstioCaServer and other trust domains', () => {
  it('renews a VM certificate (vm-ca, vm.local) only when vm-ca is known and vm.local is accepted', async () => {
    const vmId = 'spiffe://vm.local/vm/vm-1';
    const clientCertificate = await clientCertificateFrom(vmCa, vmId);
    // The VM sends vm-ca with its leaf, so TLS accepts it, but the service checks the leaf against the
    // intermediates it knows, and the default server does not know vm-ca.
    await expectRefused(server, async () => rawCall({ csr: await libraryCsr(vmId), clientCertificate }), grpc.status.UNAUTHENTICATED, /does not chain/);

    const strict = new IstioCaServer({ authority: meshCa, intermediates: [vmCa.certificate] });
    const open = new IstioCaServer({ authority: meshCa, intermediates: [vmCa.certificate], allowedTrustDomains: ['vm.local'] });
    try {
      const strictPort = await strict.start();
      const openPort = await open.start();
      await expectRefused(strict, async () => rawCall({ csr: await libraryCsr(vmId), clientCertificate, port: strictPort }), grpc.status.UNAUTHENTICATED, /trust domain "vm\.local"/);
      const result = await rawCall({ csr: await libraryCsr(vmId), clientCertificate, port: openPort });
      expect(result.ok).toBe(true);
      if (result.ok) expect(spiffeUris(result.chain[0] as Certificate)).toEqual([vmId]);
      expect(open.stats.issued).toBe(1);
    } finally {
      await strict.stop();
      await open.stop();
    }
  });
});

describe('IstioCaServer with a VM authority (extraAuthorities)', () => {
  const VM = 'spiffe://vm.local/ns/simple-app/sa/vm-1';

  it('issues a VM identity from the VM intermediate for a VM token, renews it there, and a mesh-only server refuses that token', async () => {
    const withVm = new IstioCaServer({ authority: meshCa, extraAuthorities: [vmCa] });
    const vmAddress = `127.0.0.1:${await withVm.start()}`;
    try {
      const first = await requestCertificate({ address: vmAddress, rootsPem, spiffeId: VM, token: await issueBootstrapToken(vmCa, VM, HOUR) });
      expect(spiffeUris(first.chain[0] as Certificate)).toEqual([VM]);
      expect(first.chain.slice(1).map((c) => c.subject)).toEqual([vmCa.certificate.subject, root.certificate.subject]);
      const renewed = await requestCertificate({ address: vmAddress, rootsPem, spiffeId: VM, clientCertificate: await asClientCertificate(first) });
      expect((renewed.chain[0] as Certificate).issuer).toBe(vmCa.certificate.subject);
      expect((renewed.chain[0] as Certificate).serialNumber).not.toBe((first.chain[0] as Certificate).serialNumber);
      // Mesh tokens still go to the mesh intermediate.
      const mesh = await requestCertificate({ address: vmAddress, rootsPem, spiffeId: SLEEP, token: await issueBootstrapToken(meshCa, SLEEP, HOUR) });
      expect((mesh.chain[0] as Certificate).issuer).toBe(meshCa.certificate.subject);
      // A token from a CA outside the hierarchy is refused, with nothing issued.
      await expectRefused(withVm, async () => rawCall({ csr: await libraryCsr(VM), token: await issueBootstrapToken(otherMesh, VM, HOUR), port: withVm.port }), grpc.status.UNAUTHENTICATED, /bootstrap token is not valid/);
    } finally {
      await withVm.stop();
    }
    await expectRefused(server, async () => rawCall({ csr: await libraryCsr(VM), token: await issueBootstrapToken(vmCa, VM, HOUR) }), grpc.status.UNAUTHENTICATED, /bootstrap token is not valid/);
  });
});
