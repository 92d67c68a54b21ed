import type { HeaderMap, LocalReply } from './filter.js';

/** Envoy's mapping of HTTP status to gRPC status for local replies to gRPC requests. */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400: return 13; // INTERNAL
    case 401: return 16; // UNAUTHENTICATED
    case 403: return 7; // PERMISSION_DENIED
    case 404: return 12; // UNIMPLEMENTED
    case 429: case 502: case 503: case 504: return 14; // UNAVAILABLE
    default: return 2; // UNKNOWN
  }
}

export interface RenderedReply {
  status: number;
  headers: HeaderMap;
  body: Buffer;
}

/**
 * Renders a local reply. A gRPC request gets a trailers-only gRPC response (HTTP 200, grpc-status,
 * grpc-message) as Envoy sends; others get text/plain with the body.
 */
export function renderLocalReply(reply: LocalReply, grpc: boolean): RenderedReply {
  const body = reply.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body);
  if (grpc) {
    return {
      status: 200,
      headers: {
        'content-type': 'application/grpc',
        'grpc-status': String(reply.grpcStatus ?? httpToGrpcStatus(reply.status)),
        'grpc-message': encodeURIComponent(body.toString()),
        ...reply.headers,
      },
      body: Buffer.alloc(0),
    };
  }
  return {
    status: reply.status,
    headers: { ...(body.length > 0 ? { 'content-type': 'text/plain' } : {}), 'content-length': String(body.length), ...reply.headers },
    body,
  };
}
