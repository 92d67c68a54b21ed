import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import * as x509 from './x509.js';
import { PkiError } from './errors.js';

export type KeyType = 'ec-p256' | 'rsa-2048';
export const KEY_TYPES: readonly KeyType[] = ['ec-p256', 'rsa-2048'];

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface KeyPair {
  readonly keyType: KeyType;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

const ALGORITHMS: Record<KeyType, { generate: RsaHashedKeyGenParams | EcKeyGenParams; import: RsaHashedImportParams | EcKeyImportParams; sign: Algorithm | EcdsaParams }> = {
  'ec-p256': {
    generate: { name: 'ECDSA', namedCurve: 'P-256' },
    import: { name: 'ECDSA', namedCurve: 'P-256' },
    sign: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
  },
  'rsa-2048': {
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
  },
};

export function parseKeyType(value: string): KeyType {
  if ((KEY_TYPES as readonly string[]).includes(value)) return value as KeyType;
  throw new PkiError('ERR_PKI_KEY', `unknown key type "${value}"`, { hint: `use one of: ${KEY_TYPES.join(', ')}` });
}

/** The signature algorithm a CA with this key signs with (SHA-256 in both cases). */
export function signingAlgorithm(keyType: KeyType): Algorithm | EcdsaParams {
  return ALGORITHMS[keyType].sign;
}

export async function generateKeyPair(keyType: KeyType = 'ec-p256'): Promise<KeyPair> {
  const pair = (await webcrypto.subtle.generateKey(ALGORITHMS[keyType].generate, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { keyType, privateKey: pair.privateKey, publicKey: pair.publicKey };
}

export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/**
 * Reads a private key in any PEM form openssl writes (PKCS#8, "EC PRIVATE KEY", "RSA PRIVATE KEY").
 * Only P-256 EC keys and RSA keys are accepted.
 */
export async function importPrivateKeyPem(pem: string, source = 'private key'): Promise<{ keyType: KeyType; privateKey: CryptoKey; publicKey: CryptoKey }> {
  let keyObject;
  try {
    keyObject = createPrivateKey(pem);
  } catch (err) {
    throw new PkiError('ERR_PKI_KEY', `${source} is not a readable PEM private key`, {
      hint: 'give a PEM file that starts with -----BEGIN PRIVATE KEY----- (or EC/RSA PRIVATE KEY)',
      cause: err,
    });
  }
  let keyType: KeyType;
  if (keyObject.asymmetricKeyType === 'ec' && keyObject.asymmetricKeyDetails?.namedCurve === 'prime256v1') keyType = 'ec-p256';
  else if (keyObject.asymmetricKeyType === 'rsa') keyType = 'rsa-2048';
  else {
    throw new PkiError('ERR_PKI_KEY', `${source} is a ${keyObject.asymmetricKeyType} key, which Isthmus does not sign with`, {
      hint: 'use an ECDSA P-256 or RSA key',
    });
  }
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ALGORITHMS[keyType].import, true, ['sign']);
  const spki = createPublicKey(keyObject).export({ type: 'spki', format: 'der' });
  const publicKey = await webcrypto.subtle.importKey('spki', spki, ALGORITHMS[keyType].import, true, ['verify']);
  return { keyType, privateKey, publicKey };
}
