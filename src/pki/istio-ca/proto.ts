import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** proto/ at the package root; this file sits three levels below it in both src/ and dist/. */
const PROTO_ROOT = fileURLToPath(new URL('../../../proto/', import.meta.url));

export interface IstioCertificateRequest {
  csr: string;
  validity_duration: string | number;
  metadata?: unknown;
}

export interface IstioCertificateResponse {
  cert_chain: string[];
}

let cached: grpc.ServiceClientConstructor | undefined;

/** The generated IstioCertificateService client constructor (its `.service` is the server definition). */
export function istioCertificateService(): grpc.ServiceClientConstructor {
  if (!cached) {
    const definition = protoLoader.loadSync('istio/v1/auth/ca.proto', {
      includeDirs: [PROTO_ROOT],
      keepCase: true,
      longs: String,
      defaults: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      istio: { v1: { auth: { IstioCertificateService: grpc.ServiceClientConstructor } } };
    };
    cached = loaded.istio.v1.auth.IstioCertificateService;
  }
  return cached;
}
