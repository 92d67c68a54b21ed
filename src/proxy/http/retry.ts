import type { RetryPolicy } from '../../envoy/index.js';
import { durationMs } from '../../envoy/index.js';

/** A retry policy compiled once per route: which outcomes retry, how often, and the back-off. */
export interface CompiledRetryPolicy {
  readonly numRetries: number;
  readonly perTryTimeoutMs?: number;
  readonly baseIntervalMs: number;
  readonly maxIntervalMs: number;
  retriableStatus(status: number, headers: Record<string, string | string[]>): boolean;
  retriableFailure(kind: 'connect-failure' | 'reset' | 'refused-stream'): boolean;
}

const GRPC_CODES: Record<string, number> = { cancelled: 1, 'deadline-exceeded': 4, 'resource-exhausted': 8, internal: 13, unavailable: 14 };

export function compileRetryPolicy(policy: RetryPolicy | undefined): CompiledRetryPolicy | undefined {
  if (!policy?.retry_on) return undefined;
  const on = new Set(policy.retry_on.split(',').map((s) => s.trim()).filter(Boolean));
  const codes = new Set(policy.retriable_status_codes ?? []);
  const grpcCodes = new Set([...on].filter((c) => c in GRPC_CODES).map((c) => GRPC_CODES[c] as number));
  const base = durationMs(policy.retry_back_off?.base_interval) ?? 25;
  const perTry = durationMs(policy.per_try_timeout);
  return {
    numRetries: policy.num_retries ?? 1,
    ...(perTry ? { perTryTimeoutMs: perTry } : {}),
    baseIntervalMs: base,
    maxIntervalMs: durationMs(policy.retry_back_off?.max_interval) ?? base * 10,
    retriableStatus(status, headers) {
      if (on.has('5xx') && status >= 500) return true;
      if (on.has('gateway-error') && (status === 502 || status === 503 || status === 504)) return true;
      if (on.has('retriable-4xx') && status === 409) return true;
      if (on.has('retriable-status-codes') && codes.has(status)) return true;
      if (grpcCodes.size > 0) {
        const g = Number(headers['grpc-status']);
        if (Number.isInteger(g) && grpcCodes.has(g)) return true;
      }
      return false;
    },
    retriableFailure(kind) {
      if (on.has('5xx') || on.has('gateway-error')) return true; // both include resets and connect failures
      return on.has(kind);
    },
  };
}

/** Envoy's fully jittered exponential back-off: random in [0, min(base * 2^attempt, max)). */
export function backOffMs(policy: CompiledRetryPolicy, attempt: number): number {
  return Math.random() * Math.min(policy.baseIntervalMs * 2 ** attempt, policy.maxIntervalMs);
}
