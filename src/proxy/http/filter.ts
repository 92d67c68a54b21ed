/**
 * The HTTP filter contract, after Envoy's: a filter factory validates its typed config once and returns
 * a per-stream filter. Decoder hooks run in config order on the request; encoder hooks in reverse order
 * on the response. The router is the terminal filter and is not an HttpFilter.
 *
 * Bodies stream through untouched unless a filter asks to see them whole (bufferRequestBody /
 * bufferResponseBody on the stream), as Envoy's buffering filters do.
 */

import type { ConnectionInfo } from '../listener/connection-info.js';
import type { StatsStore } from '../stats.js';

/** Lower-case header names; pseudo-headers (:method, :path, ...) are kept out of this map. */
export type HeaderMap = Record<string, string | string[]>;

export interface RequestHead {
  method: string;
  /** Path and query, as sent (":path"). */
  path: string;
  /** Host / ":authority". */
  authority: string;
  scheme: 'http' | 'https';
  headers: HeaderMap;
}

export interface ResponseHead {
  status: number;
  headers: HeaderMap;
}

/** A reply made by the proxy itself (Envoy's sendLocalReply). */
export interface LocalReply {
  status: number;
  body?: string | Buffer;
  headers?: HeaderMap;
  /** For gRPC requests: answer as a trailers-only gRPC response with this grpc-status. */
  grpcStatus?: number;
  /** Envoy response flag for the access log, e.g. "NR" (no route), "UF" (upstream failure). */
  responseFlag?: string;
  /** %RESPONSE_CODE_DETAILS%, e.g. rbac_access_denied_matched_policy[none]; filter_local_reply when unset. */
  details?: string;
}

export interface StreamInfo {
  /** Set by a decoder hook to receive the whole request body in decodeBody. */
  bufferRequestBody: boolean;
  /** Set by a hook to receive the whole response body (and trailers) in encodeBody. */
  bufferResponseBody: boolean;
  /** The route cache is cleared when a filter changes the path or headers routing depends on. */
  clearRouteCache(): void;
  readonly downstreamProtocol: 'HTTP/1.1' | 'HTTP/2' | 'HTTP/1.0';
  /** Free-form per-stream state filters may share (Envoy's filter state). */
  readonly filterState: Map<string, unknown>;
  /** The downstream connection: addresses, SNI, the verified peer certificate. */
  readonly connection: ConnectionInfo;
  /**
   * The client address as the connection manager trusts it (Envoy's downstream remote address): the
   * connection's peer, or the x-forwarded-for entry xff_num_trusted_hops from the right.
   */
  readonly downstreamRemoteAddress: string;
}

export interface HttpFilter {
  decodeHeaders?(head: RequestHead, stream: StreamInfo): void | LocalReply | Promise<void | LocalReply>;
  decodeBody?(body: Buffer, head: RequestHead, stream: StreamInfo): Buffer | LocalReply | Promise<Buffer | LocalReply>;
  encodeHeaders?(head: ResponseHead, stream: StreamInfo): void | Promise<void>;
  encodeBody?(
    body: Buffer,
    trailers: HeaderMap | undefined,
    head: ResponseHead,
    stream: StreamInfo,
  ): { body: Buffer; trailers?: HeaderMap } | Promise<{ body: Buffer; trailers?: HeaderMap }>;
}

/** What a factory may use while it validates and builds its config. */
export interface FilterFactoryContext {
  /** Directory relative file names in the config resolve against (the bootstrap file's directory). */
  readonly baseDir: string;
  /** The proxy's stats, and the connection manager's prefix ("http.<stat_prefix>.") for a filter's own. */
  readonly stats?: StatsStore;
  readonly statPrefix?: string;
}

/** A config problem at a field path, e.g. { path: 'proto_descriptor', message: 'file not found' }. */
export interface FieldError {
  path: string;
  message: string;
}

export type FactoryResult =
  | { valid: true; createFilter: () => HttpFilter }
  | { valid: false; errors: FieldError[] };

export interface HttpFilterFactory {
  /** Envoy's filter name, e.g. "envoy.filters.http.grpc_json_transcoder". */
  readonly name: string;
  /** The typed_config "@type" URLs it accepts. */
  readonly typeUrls: readonly string[];
  /** Validates the typed config (snake_case keys, "@type" removed) once per listener. */
  create(config: Record<string, unknown>, context: FilterFactoryContext): FactoryResult | Promise<FactoryResult>;
}
