/**
 * Errors of the upstream side, in one place: config problems (thrown by addOrUpdate) and the mapping of
 * socket/codec failures to Envoy response flags (UpstreamError).
 */
import { UpstreamError } from './types.js';
import type { UpstreamFailure } from './types.js';

/** A cluster config that cannot be used; `path` is the field, e.g. "transport_socket.typed_config.sni". */
export class ClusterConfigError extends Error {
  readonly code = 'ERR_CLUSTER_CONFIG';
  cluster: string | undefined;

  constructor(readonly path: string, readonly detail: string, options?: { cause?: unknown }) {
    super(`${path}: ${detail}`, options);
    this.name = 'ClusterConfigError';
  }

  /** Prefixes the message with the cluster name once it is known. */
  forCluster(name: string): this {
    if (this.cluster === undefined) {
      this.cluster = name;
      this.message = `cluster "${name}": ${this.message}`;
    }
    return this;
  }
}

/** Connection-level failures after the request was sent: the upstream closed or reset the connection. */
const TERMINATION_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'ERR_HTTP2_SESSION_ERROR', 'ERR_HTTP2_GOAWAY_SESSION']);

/**
 * Maps an error raised while a request was in flight to an UpstreamError: connection termination is
 * 'UC' (Envoy's upstream connection termination); anything else, such as a malformed response, is
 * treated as a remote reset ('UR').
 */
export function toUpstreamError(err: unknown, context: string): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const flag: UpstreamFailure = code !== undefined && TERMINATION_CODES.has(code) ? 'UC' : 'UR';
  const why = flag === 'UC' ? 'upstream connection terminated' : 'upstream reset';
  return new UpstreamError(flag, `${why} (${context}): ${(err as Error | undefined)?.message ?? String(err)}`, { cause: err });
}
