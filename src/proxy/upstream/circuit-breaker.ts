/**
 * Envoy's per-cluster circuit breakers (DEFAULT priority): plain counters checked before a connection,
 * a pending request, a request or a retry is admitted. Overflow is the caller's to report ('UO').
 */
import type { CircuitBreakerThresholds } from './settings.js';

export class CircuitBreaker {
  connections = 0;
  pendingRequests = 0;
  requests = 0;
  retries = 0;
  /** Connection opens waiting for a slot under max_connections (run in order as slots free up). */
  private readonly connectWaiters: Array<() => void> = [];

  constructor(readonly thresholds: CircuitBreakerThresholds) {}

  canConnect(): boolean {
    return this.connections < this.thresholds.maxConnections;
  }

  canRequest(): boolean {
    return this.requests < this.thresholds.maxRequests;
  }

  canQueue(): boolean {
    return this.pendingRequests < this.thresholds.maxPendingRequests;
  }

  tryRetry(): boolean {
    if (this.retries >= this.thresholds.maxRetries) return false;
    this.retries++;
    return true;
  }

  releaseRetry(): void {
    if (this.retries > 0) this.retries--;
  }

  /** Runs `open` now if a connection slot is free, else when one is released. */
  whenConnectionSlotFree(open: () => void): void {
    if (this.canConnect()) open();
    else this.connectWaiters.push(open);
  }

  connectionClosed(): void {
    this.connections--;
    if (this.connectWaiters.length > 0 && this.canConnect()) this.connectWaiters.shift()?.();
  }

  /** Forgets waiting connection opens: the cluster is closing and their pools are destroyed. */
  clearWaiters(): void {
    this.connectWaiters.length = 0;
  }
}
