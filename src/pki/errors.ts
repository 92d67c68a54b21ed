import { IsthmusError } from '../common/index.js';

/** Stable codes for PKI failures; tests and callers match on these, not on messages. */
export type PkiErrorCode =
  | 'ERR_PKI_PEM'
  | 'ERR_PKI_KEY'
  | 'ERR_PKI_SPIFFE_ID'
  | 'ERR_PKI_LAYOUT'
  | 'ERR_PKI_TTL'
  | 'ERR_PKI_CSR_MALFORMED'
  | 'ERR_PKI_CSR_SIGNATURE'
  | 'ERR_PKI_CSR_CA_REQUESTED'
  | 'ERR_PKI_CSR_IDENTITY'
  | 'ERR_PKI_UNTRUSTED'
  | 'ERR_PKI_EXPIRED'
  | 'ERR_PKI_NOT_YET_VALID'
  | 'ERR_PKI_NOT_SPIFFE'
  | 'ERR_PKI_LEAF_IS_CA'
  | 'ERR_PKI_USAGE'
  | 'ERR_PKI_TRUST_DOMAIN'
  | 'ERR_PKI_BUNDLE'
  | 'ERR_PKI_TOKEN';

export class PkiError extends IsthmusError {
  declare readonly code: PkiErrorCode;

  constructor(code: PkiErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'PkiError';
  }
}
