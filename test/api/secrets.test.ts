// credentialName Secrets in both of Istio's layouts, with real openssl key pairs.
import { beforeAll, describe, expect, test } from 'vitest';
import { extractTlsCredential, secretValues } from '../../src/api/index.js';
import type { SecretResource } from '../../src/api/index.js';
import { genericSecret, load, opensslKeyPair, tlsSecret } from './helpers.js';
import type { KeyPair } from './helpers.js';

function secret(doc: Record<string, unknown>): SecretResource {
  const result = load(doc);
  expect(result.errors).toEqual([]);
  const s = result.resources[0];
  if (s?.kind !== 'Secret') throw new Error('not a Secret');
  return s;
}

describe('TLS credentials from Secrets', () => {
  let server: KeyPair;
  let client: KeyPair;
  beforeAll(async () => {
    // As the seed: server.crt/key for the ingress, client.crt/key for the egress, each self-signed.
    [server, client] = await Promise.all([
      opensslKeyPair('/C=NT/ST=Zamunda/O=Solo.io/OU=Solo.io/CN=*'),
      opensslKeyPair('/C=NT/ST=Wakanda/O=Solo.io/OU=Solo.io/CN=*'),
    ]);
  });

  test('generic key/cert/cacert (kubectl create secret generic) gives all three PEMs', () => {
    const s = secret(genericSecret('mtls-credential', 'istio-ingress', { key: server.key, cert: server.cert, cacert: client.cert }));
    const result = extractTlsCredential(s, { use: 'keyPairAndCa' });
    expect(result).toMatchObject({ valid: true, format: 'generic', missing: [], problems: [], message: '' });
    expect(result.credential).toEqual({ key: server.key, cert: server.cert, cacert: client.cert });
  });

  test('kubernetes.io/tls tls.key/tls.crt/ca.crt, also from stringData', () => {
    const s = secret({ ...tlsSecret('web', 'edge', { 'tls.key': server.key, 'tls.crt': server.cert }), stringData: { 'ca.crt': client.cert } });
    expect(secretValues(s)['ca.crt']).toBe(client.cert);
    const result = extractTlsCredential(s, { use: 'keyPairAndCa' });
    expect(result).toMatchObject({ valid: true, format: 'kubernetes.io/tls' });
    expect(result.credential.cacert).toBe(client.cert);
  });

  test('says exactly what is missing', () => {
    const s = secret(genericSecret('mtls-credential', 'istio-ingress', { cert: server.cert }));
    const result = extractTlsCredential(s, { use: 'keyPairAndCa' });
    expect(result.valid).toBe(false);
    expect(result.missing).toEqual(['private key ("key" or "tls.key")', 'CA certificate ("cacert" or "ca.crt", here or in Secret mtls-credential-cacert)']);
    expect(result.message).toBe(
      'Secret istio-ingress/mtls-credential has no private key ("key" or "tls.key") and no CA certificate ("cacert" or "ca.crt", here or in Secret mtls-credential-cacert) (found: cert)',
    );
    // For a server presenting a certificate only (SIMPLE), the CA is not needed.
    expect(extractTlsCredential(s, { use: 'keyPair' }).missing).toEqual(['private key ("key" or "tls.key")']);
  });

  test('the CA may come from a separate <name>-cacert Secret, which Istio prefers', () => {
    const main = secret(genericSecret('gw', 'edge', { key: server.key, cert: server.cert, cacert: server.cert }));
    const ca = secret(genericSecret('gw-cacert', 'edge', { cacert: client.cert }));
    const result = extractTlsCredential(main, { use: 'keyPairAndCa', caSecret: ca });
    expect(result.valid).toBe(true);
    expect(result.credential.cacert).toBe(client.cert);
  });

  test('a key that does not belong to the certificate, and PEM that does not parse, are problems', () => {
    const mismatched = extractTlsCredential(secret(genericSecret('x', 'edge', { key: client.key, cert: server.cert })));
    expect(mismatched.valid).toBe(false);
    expect(mismatched.problems).toEqual(['the private key does not belong to the certificate']);
    const garbage = extractTlsCredential(secret(genericSecret('y', 'edge', { key: 'not a key', cert: server.cert })));
    expect(garbage.problems).toHaveLength(1);
    expect(garbage.problems[0]).toMatch(/^key does not parse as a PEM private key/);
    expect(extractTlsCredential(secret(genericSecret('y', 'edge', { key: 'not a key', cert: server.cert })), { checkPem: false }).valid).toBe(true);
  });

  test('an expired certificate is reported', () => {
    const result = extractTlsCredential(secret(genericSecret('x', 'edge', { key: server.key, cert: server.cert })), { now: new Date(Date.now() + 2 * 365 * 86_400_000) });
    expect(result.valid).toBe(false);
    expect(result.problems[0]).toMatch(/^certificate expired on \d{4}-/);
  });

  test('a CA-only Secret serves DestinationRule SIMPLE origination', () => {
    const result = extractTlsCredential(secret(genericSecret('ca', 'edge', { 'ca.crt': client.cert })), { use: 'ca' });
    expect(result).toMatchObject({ valid: true, credential: { cacert: client.cert } });
    expect(result.format).toBeUndefined();
  });
});
