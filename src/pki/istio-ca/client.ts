import * as grpc from '@grpc/grpc-js';
import { PkiError } from '../errors.js';
import { generateKeyPair } from '../keys.js';
import type { KeyPair, KeyType } from '../keys.js';
import { createCsr } from '../csr.js';
import { parseCertificates, spiffeUris } from '../certificate.js';
import type { Certificate } from '../certificate.js';
import { CA_SERVER_NAME } from './server.js';
import { istioCertificateService } from './proto.js';
import type { IstioCertificateRequest, IstioCertificateResponse } from './proto.js';

export interface CertificateRequestOptions {
  /** host:port of the CA service. */
  readonly address: string;
  /** PEM roots that the CA server's certificate must chain to. */
  readonly rootsPem: string;
  readonly spiffeId: string;
  /** A bootstrap token (first certificate) ... */
  readonly token?: string;
  /** ... or the current certificate and key (renewal). */
  readonly clientCertificate?: { certPem: string; keyPem: string };
  readonly keyType?: KeyType;
  readonly ttlMs?: number;
  readonly serverName?: string;
  readonly timeoutMs?: number;
}

export interface CertificateResponse {
  readonly keys: KeyPair;
  /** leaf, intermediates..., root, as the CA returned them. */
  readonly chain: readonly Certificate[];
}

type CaClient = {
  CreateCertificate(
    request: IstioCertificateRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, response: IstioCertificateResponse) => void,
  ): void;
};

/** What istio-agent does: make a key and CSR, send it to the CA service, check what comes back. */
export async function requestCertificate(options: CertificateRequestOptions): Promise<CertificateResponse> {
  const keys = await generateKeyPair(options.keyType ?? 'ec-p256');
  const csr = await createCsr(keys, { spiffeId: options.spiffeId });
  const Client = istioCertificateService();
  const credentials = grpc.credentials.createSsl(
    Buffer.from(options.rootsPem),
    options.clientCertificate ? Buffer.from(options.clientCertificate.keyPem) : null,
    options.clientCertificate ? Buffer.from(options.clientCertificate.certPem) : null,
  );
  const client = new Client(options.address, credentials, { 'grpc.ssl_target_name_override': options.serverName ?? CA_SERVER_NAME });
  const metadata = new grpc.Metadata();
  if (options.token) metadata.set('authorization', `Bearer ${options.token}`);
  const request: IstioCertificateRequest = { csr, validity_duration: Math.round((options.ttlMs ?? 0) / 1000) };
  try {
    const response = await new Promise<IstioCertificateResponse>((resolve, reject) => {
      (client as unknown as CaClient).CreateCertificate(request, metadata, { deadline: Date.now() + (options.timeoutMs ?? 10_000) }, (err: grpc.ServiceError | null, res: IstioCertificateResponse) =>
        err ? reject(err) : resolve(res),
      );
    });
    const chain = response.cert_chain.flatMap((pem, i) => parseCertificates(pem, `cert_chain[${i}]`));
    const leaf = chain[0];
    if (!leaf || spiffeUris(leaf)[0] !== options.spiffeId) {
      throw new PkiError('ERR_PKI_CSR_IDENTITY', `the CA returned a certificate for ${leaf ? spiffeUris(leaf).join(', ') || 'no SPIFFE ID' : 'nothing'}, not ${options.spiffeId}`);
    }
    return { keys, chain };
  } finally {
    client.close();
  }
}
