import * as grpc from '@grpc/grpc-js';
import { IsthmusError } from '../../common/index.js';

export type XdsErrorCode =
  /** The caller's credentials were missing or did not verify. */
  | 'ERR_XDS_UNAUTHENTICATED'
  /** The caller is known but may not receive this node's config. */
  | 'ERR_XDS_PERMISSION_DENIED'
  /** The first request of a stream carried no node id. */
  | 'ERR_XDS_NO_NODE'
  /** A later request named another node than the first. */
  | 'ERR_XDS_NODE_CHANGED'
  /** A request that no xDS client sends (e.g. a type_url that is not a type URL). */
  | 'ERR_XDS_BAD_REQUEST'
  /** A resource in a snapshot cannot be encoded (wrong field, duplicate name). */
  | 'ERR_XDS_BAD_RESOURCE'
  /** A snapshot references EDS/RDS/SDS resources it does not contain. */
  | 'ERR_XDS_INCONSISTENT_SNAPSHOT'
  /** The proxy belongs to another control plane revision (its istio.io/rev label). */
  | 'ERR_XDS_WRONG_REVISION'
  /** onNodeConnected failed, so there is no config to serve yet. */
  | 'ERR_XDS_NODE_SETUP'
  | 'ERR_XDS_LISTEN';

export class XdsError extends IsthmusError {
  override readonly code: XdsErrorCode;

  constructor(code: XdsErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'XdsError';
    this.code = code;
  }
}

const GRPC_STATUS: Readonly<Record<XdsErrorCode, grpc.status>> = {
  ERR_XDS_UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  ERR_XDS_PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  ERR_XDS_NO_NODE: grpc.status.INVALID_ARGUMENT,
  ERR_XDS_NODE_CHANGED: grpc.status.INVALID_ARGUMENT,
  ERR_XDS_BAD_REQUEST: grpc.status.INVALID_ARGUMENT,
  ERR_XDS_BAD_RESOURCE: grpc.status.INTERNAL,
  ERR_XDS_INCONSISTENT_SNAPSHOT: grpc.status.INTERNAL,
  ERR_XDS_WRONG_REVISION: grpc.status.FAILED_PRECONDITION,
  ERR_XDS_NODE_SETUP: grpc.status.UNAVAILABLE,
  ERR_XDS_LISTEN: grpc.status.INTERNAL,
};

/** The one place where a failure becomes the gRPC status that ends an xDS stream. */
export function grpcStatusOf(err: unknown): { code: grpc.status; details: string } {
  if (err instanceof XdsError) return { code: GRPC_STATUS[err.code], details: err.describe() };
  return { code: grpc.status.INTERNAL, details: 'internal error in the xDS server' };
}
