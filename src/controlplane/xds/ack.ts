import type { RpcStatus } from '../../envoy/index.js';

/** The last response sent for one type on one stream. */
export interface SentResponse {
  readonly nonce: string;
  readonly version: string;
}

export type RequestVerdict =
  /** No nonce (or none this stream knows): a new subscription; answer it. */
  | { readonly kind: 'subscribe' }
  /** The client applied `version`. */
  | { readonly kind: 'ack'; readonly version: string }
  /** The client rejected `version` (the one we sent, not the one it still runs). */
  | { readonly kind: 'nack'; readonly version: string; readonly message: string }
  /** An answer to an older response, overtaken by a newer one: ignore it. */
  | { readonly kind: 'stale' };

/**
 * The only place where nonces and versions are judged, for SotW and delta streams alike.
 * A request answers the response whose nonce it carries; with error_detail set that answer is a NACK.
 */
export function judgeRequest(request: { response_nonce?: string; error_detail?: RpcStatus }, lastSent: SentResponse | undefined): RequestVerdict {
  const nonce = request.response_nonce ?? '';
  // A nonce from an earlier stream (a client that reconnected) means nothing here: treat it as new.
  if (nonce === '' || lastSent === undefined) return { kind: 'subscribe' };
  if (nonce !== lastSent.nonce) return { kind: 'stale' };
  if (request.error_detail) {
    return { kind: 'nack', version: lastSent.version, message: request.error_detail.message || `rejected with gRPC code ${request.error_detail.code ?? 0}` };
  }
  return { kind: 'ack', version: lastSent.version };
}
