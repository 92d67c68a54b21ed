import type { CancelSignal } from '../upstream/index.js';

/**
 * The signal an ActiveStream hands its upstream request: fired when the downstream goes away before the
 * response ended, so the upstream request is reset too (Envoy resets the upstream stream; an HTTP/1
 * upstream connection is closed). One small object per stream instead of an AbortController, whose
 * EventTarget costs more than the rest of a request's bookkeeping; the upstream registers one listener.
 */
export class DownstreamReset implements CancelSignal {
  aborted = false;
  reason: unknown;
  private listener: EventListenerObject | undefined;

  addEventListener(_type: 'abort', listener: EventListenerObject): void {
    this.listener = listener;
  }

  removeEventListener(_type: 'abort', listener: EventListenerObject): void {
    if (this.listener === listener) this.listener = undefined;
  }

  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listener = this.listener;
    this.listener = undefined;
    listener?.handleEvent(new Event('abort'));
  }
}
