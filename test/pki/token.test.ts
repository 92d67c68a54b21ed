import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, PkiError, issueBootstrapToken, verifyBootstrapToken } from '../../src/pki/index.js';

const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';

let root: CertificateAuthority;
let meshCa: CertificateAuthority;

beforeAll(async () => {
  root = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
  meshCa = await root.createIntermediate({ name: 'mesh-ca' });
});

async function tokenError(ca: CertificateAuthority, token: string): Promise<PkiError> {
  try {
    await verifyBootstrapToken(ca, token);
  } catch (err) {
    if (err instanceof PkiError) return err;
    throw err;
  }
  throw new Error('the token was accepted');
}

function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
}

describe('bootstrap tokens', () => {
  it('verify against the CA that signed them and name the identity', async () => {
    const token = await issueBootstrapToken(meshCa, SLEEP, 60_000);
    expect(await verifyBootstrapToken(meshCa, token)).toBe(SLEEP);
    const c = claims(token);
    expect(c.sub).toBe(SLEEP);
    expect(c.aud).toBe('istio-ca');
    expect((c.exp as number) - (c.iat as number)).toBe(60);
  });

  it('work with an RSA CA (RS256)', async () => {
    const rsaRoot = await CertificateAuthority.createRoot({ trustDomain: 'rsa.local', keyType: 'rsa-2048' });
    const token = await issueBootstrapToken(rsaRoot, 'spiffe://rsa.local/ns/a/sa/b', 60_000);
    expect(JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()).alg).toBe('RS256');
    expect(await verifyBootstrapToken(rsaRoot, token)).toBe('spiffe://rsa.local/ns/a/sa/b');
  });

  it('fail with ERR_PKI_TOKEN once expired', async () => {
    const token = await issueBootstrapToken(meshCa, SLEEP, 1);
    await new Promise((r) => setTimeout(r, 20));
    const err = await tokenError(meshCa, token);
    expect(err.code).toBe('ERR_PKI_TOKEN');
    expect(err.message).toContain('expired');
    expect(err.hint).toContain('isthmus ca token');
  });

  it('fail with ERR_PKI_TOKEN when signed by another CA, even of the same trust domain', async () => {
    const otherRoot = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
    const otherMesh = await otherRoot.createIntermediate({ name: 'mesh-ca' });
    const forged = await issueBootstrapToken(otherMesh, SLEEP, 60_000);
    expect((await tokenError(meshCa, forged)).code).toBe('ERR_PKI_TOKEN');
    // A sibling CA under the same root does not share a key either.
    const sibling = await root.createIntermediate({ name: 'mesh-ca-2' });
    expect((await tokenError(meshCa, await issueBootstrapToken(sibling, SLEEP, 60_000))).code).toBe('ERR_PKI_TOKEN');
  });

  it('fail with ERR_PKI_TOKEN when tampered with or not a JWT', async () => {
    const token = await issueBootstrapToken(meshCa, SLEEP, 60_000);
    const [header, , signature] = token.split('.');
    const payload = Buffer.from(JSON.stringify({ ...claims(token), sub: 'spiffe://cluster.local/ns/kube-system/sa/admin' })).toString('base64url');
    expect((await tokenError(meshCa, `${header}.${payload}.${signature}`)).code).toBe('ERR_PKI_TOKEN');
    expect((await tokenError(meshCa, 'not-a-token')).code).toBe('ERR_PKI_TOKEN');
  });

  it('are issued only for a valid SPIFFE ID', async () => {
    await expect(issueBootstrapToken(meshCa, 'sleep', 60_000)).rejects.toMatchObject({ code: 'ERR_PKI_SPIFFE_ID' });
  });
});
