/**
 * grpc-status handling: reading it from headers or trailers, and Envoy's Grpc::Utility::grpcToHttpStatus
 * (after https://cloud.google.com/apis/design/errors#handling_errors).
 */
import type { HeaderMap } from '../../filter.js';
import { firstHeader } from './headers.js';

const HTTP_STATUS_BY_GRPC_STATUS: readonly number[] = [
  200, // 0 OK
  499, // 1 CANCELLED: client closed request
  500, // 2 UNKNOWN
  400, // 3 INVALID_ARGUMENT
  504, // 4 DEADLINE_EXCEEDED
  404, // 5 NOT_FOUND
  409, // 6 ALREADY_EXISTS
  403, // 7 PERMISSION_DENIED
  429, // 8 RESOURCE_EXHAUSTED
  400, // 9 FAILED_PRECONDITION
  409, // 10 ABORTED
  400, // 11 OUT_OF_RANGE
  501, // 12 UNIMPLEMENTED
  500, // 13 INTERNAL
  503, // 14 UNAVAILABLE
  500, // 15 DATA_LOSS
  401, // 16 UNAUTHENTICATED
];

export function grpcToHttpStatus(grpcStatus: number): number {
  return HTTP_STATUS_BY_GRPC_STATUS[grpcStatus] ?? 500;
}

/** Envoy's "InvalidCode": the header is there but is not a number. */
export const INVALID_GRPC_STATUS = -1;

/** The grpc-status in a header map: undefined when absent, INVALID_GRPC_STATUS when unparsable. */
export function readGrpcStatus(headers: HeaderMap | undefined): number | undefined {
  const raw = headers ? firstHeader(headers, 'grpc-status') : undefined;
  if (raw === undefined) return undefined;
  return /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : INVALID_GRPC_STATUS;
}

/** grpc-message is percent-encoded on the wire (gRPC over HTTP/2 spec). */
export function decodeGrpcMessage(raw: string | undefined): string {
  if (raw === undefined) return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
