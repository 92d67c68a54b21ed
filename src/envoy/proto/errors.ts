import { IsthmusError } from '../../common/index.js';

export type ProtoErrorCode =
  /** The .proto files could not be found or parsed. */
  | 'ERR_PROTO_LOAD'
  /** A type URL or message name that no loaded .proto file defines. */
  | 'ERR_PROTO_UNKNOWN_TYPE'
  /** A JSON key that is neither a field name nor a JSON name of the message. */
  | 'ERR_PROTO_UNKNOWN_FIELD'
  /** A value of the wrong JSON type, out of range, or two members of one oneof. */
  | 'ERR_PROTO_INVALID_VALUE'
  /** Bytes that are not a valid encoding of the message. */
  | 'ERR_PROTO_DECODE';

/** Encoding or decoding failed; `path` names the field (e.g. filter_chains[0].filters[0].typed_config.foo). */
export class ProtoError extends IsthmusError {
  override readonly code: ProtoErrorCode;
  readonly path: string;

  constructor(code: ProtoErrorCode, path: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, path ? `${path}: ${message}` : message, options);
    this.name = 'ProtoError';
    this.code = code;
    this.path = path;
  }
}
