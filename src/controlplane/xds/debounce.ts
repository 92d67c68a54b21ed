/**
 * Coalesces bursts of triggers into one call: `fire` runs once things have been quiet for `quietMs`,
 * but never later than `maxDelayMs` after the first trigger of the burst, so a steady trickle of
 * changes cannot postpone a push forever (Istio's PILOT_DEBOUNCE_AFTER / PILOT_DEBOUNCE_MAX).
 */
export class Debouncer {
  private timer: NodeJS.Timeout | undefined;
  private firstAt = 0;

  constructor(
    private readonly quietMs: number,
    private readonly maxDelayMs: number,
    private readonly fire: () => void,
  ) {}

  get pending(): boolean {
    return this.timer !== undefined;
  }

  trigger(): void {
    if (this.quietMs <= 0) {
      this.fire();
      return;
    }
    const now = Date.now();
    if (this.timer === undefined) this.firstAt = now;
    else clearTimeout(this.timer);
    const delay = Math.max(0, Math.min(this.quietMs, this.firstAt + this.maxDelayMs - now));
    this.timer = setTimeout(() => this.flush(), delay);
  }

  /** Fires now if a call is pending. */
  flush(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.fire();
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
