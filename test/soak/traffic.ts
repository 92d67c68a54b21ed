// Steady keep-alive traffic for the soak test: a few loops on one undici Pool, every answer checked.
import { Pool } from 'undici';

export interface TrafficFailure {
  /** Milliseconds since the traffic started. */
  readonly atMs: number;
  readonly phase: string;
  readonly path: string;
  readonly status?: number;
  readonly body?: string;
  readonly error?: string;
}

export interface TrafficOptions {
  /** http://host:port of the listener the client talks to. */
  readonly origin: string;
  readonly host: string;
  readonly loops: number;
  /** Pause between two requests of one loop: steady load, not a benchmark. */
  readonly pauseMs: number;
  /** What the test is doing now (steady, cp-away, ...), recorded with every failure. */
  readonly phase: () => string;
  /** The body the app answers for a path: anything else is a failure. */
  readonly expected: (path: string, body: string) => boolean;
}

/**
 * `loops` concurrent request loops over `loops` keep-alive connections. A request counts as good only
 * with status 200 and the expected body; anything else (status, body, reset, timeout) is a failure.
 */
export class SteadyTraffic {
  readonly failures: TrafficFailure[] = [];
  ok = 0;
  /** Good answers per phase. */
  readonly okByPhase = new Map<string, number>();
  /** The bodies' last words, newest last (the app says which config push it saw). */
  lastBody = '';
  private readonly pool: Pool;
  private stopped = false;
  private running: Promise<void>[] = [];
  private readonly started = Date.now();

  constructor(private readonly options: TrafficOptions) {
    this.pool = new Pool(options.origin, { connections: options.loops, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 10_000, bodyTimeout: 10_000 });
  }

  start(): void {
    this.running = Array.from({ length: this.options.loops }, (_, i) => this.loop(i));
  }

  get total(): number {
    return this.ok + this.failures.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
    await this.pool.close();
  }

  private async loop(index: number): Promise<void> {
    for (let seq = 0; !this.stopped; seq++) {
      const path = `/soak/${index}/${seq}`;
      const phase = this.options.phase();
      try {
        const res = await this.pool.request({ path, method: 'GET', headers: { host: this.options.host } });
        const body = await res.body.text();
        if (res.statusCode === 200 && this.options.expected(path, body)) {
          this.ok += 1;
          this.okByPhase.set(phase, (this.okByPhase.get(phase) ?? 0) + 1);
          this.lastBody = body;
        } else {
          this.fail({ phase, path, status: res.statusCode, body: body.slice(0, 200) });
        }
      } catch (err) {
        this.fail({ phase, path, error: `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`.trim() });
      }
      await new Promise((r) => setTimeout(r, this.options.pauseMs));
    }
  }

  private fail(failure: Omit<TrafficFailure, 'atMs'>): void {
    this.failures.push({ atMs: Date.now() - this.started, ...failure });
  }
}
