/**
 * The primary of `isthmus proxy --concurrency N` (Envoy's --concurrency: N workers, each a full data
 * plane): forks N node:cluster workers that share the listening sockets, runs the one xDS stream and the
 * admin interface, hands every xDS update and workload certificate to the workers, sums their stats,
 * restarts a worker that crashed (with the current config replayed first) and drains them all on SIGTERM.
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Secret } from '../../envoy/index.js';
import type { AdminClusterInfo, AdminListenerInfo, AdminServerOptions } from '../admin/index.js';
import type { SecretStore } from '../tls/sds.js';
import { AggregatedStats, MergedTrace, aggregateSamples } from './aggregate.js';
import { WorkerFanout } from './fanout.js';
import type { FanoutWorker } from './fanout.js';
import { WORKER_INDEX_ENV, isWorkerMessage } from './messages.js';
import type { ApplyReply, PrimaryMessage, ResourceKind, StatsReply, TraceReply, ViewPart, ViewReply, WorkerMessage } from './messages.js';

export interface PrimaryOptions {
  readonly concurrency: number;
  readonly logger?: Logger;
  /** --drain-time-s: how long workers may drain on SIGTERM before they are killed. */
  readonly drainTimeMs: number;
  /** The primary's secret store: workload certificates (--ca-address) land there and go to every worker. */
  readonly secrets: SecretStore;
  /** Entries each worker's trace recorder keeps (0: none). */
  readonly traceEntries: number;
  /** LDS accepted by every worker (the DNS proxy, which runs in the primary, reads its names there). */
  readonly onListenersApplied?: (listeners: readonly unknown[]) => void;
}

/** How long an apply or an admin question may take in a worker before it counts as failed. */
const APPLY_TIMEOUT_MS = 30_000;
const QUERY_TIMEOUT_MS = 5_000;

type Pending = { resolve: (body: unknown) => void; timer: NodeJS.Timeout };

/** One forked worker, seen from the primary. */
class WorkerHandle implements FanoutWorker {
  live = false;
  exited = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(readonly index: number, readonly worker: Worker, readonly startedAt = Date.now()) {
    worker.on('message', (m: unknown) => {
      if (!isWorkerMessage(m) || m.kind !== 'reply') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      p.resolve(m.body);
    });
  }

  /** A request to the worker; undefined when it exits, times out or cannot be reached. */
  request<T>(message: (id: number) => PrimaryMessage, timeoutMs: number): Promise<T | undefined> {
    if (this.exited || !this.worker.isConnected()) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (body: unknown) => void, timer });
      this.worker.send(message(id), (err: Error | null) => {
        if (!err) return;
        this.pending.delete(id);
        clearTimeout(timer);
        resolve(undefined);
      });
    });
  }

  async apply(type: ResourceKind, resources: readonly unknown[], version: string): Promise<ApplyReply | undefined> {
    const reply = await this.request<ApplyReply>((id) => ({ kind: 'apply', id, type, resources, version }), APPLY_TIMEOUT_MS);
    // A worker that is still there but did not answer must not count as having accepted.
    if (!reply && !this.exited) return { error: `worker ${this.index} did not apply ${type} within ${APPLY_TIMEOUT_MS / 1000} s`, names: { eds: [], rds: [], sds: [] } };
    return reply;
  }

  send(message: PrimaryMessage): void {
    if (!this.exited && this.worker.isConnected()) this.worker.send(message, () => undefined);
  }

  onExit(): void {
    this.exited = true;
    this.live = false;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(undefined);
    }
    this.pending.clear();
  }
}

/**
 * Envoy's default: workers accept from a shared socket, the kernel spreads connections (SCHED_NONE).
 * NODE_CLUSTER_SCHED_POLICY=rr (Node's own variable) makes the primary accept and hand them out in turn.
 */
function schedulingPolicy(): number {
  return process.env.NODE_CLUSTER_SCHED_POLICY === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
}

export class ProxyPrimary {
  readonly xds: WorkerFanout;
  private readonly workers = new Map<number, WorkerHandle>();
  private readonly stats = new AggregatedStats();
  private readonly trace: MergedTrace | undefined;
  private view: Required<ViewReply> = { configDump: {}, clusters: [], listeners: [] };
  private stopping = false;
  private started = false;
  private restarts = 0;

  constructor(private readonly options: PrimaryOptions) {
    this.xds = new WorkerFanout(() => this.liveWorkers(), options.onListenersApplied);
    this.trace = options.traceEntries > 0 ? new MergedTrace(options.traceEntries, options.concurrency) : undefined;
    // Workload certificates renewed by the primary reach every worker (a new one gets them at join).
    options.secrets.onChange((names) => {
      const secrets = [...names].map((n) => options.secrets.get(n)).filter((s): s is Secret => s !== undefined);
      for (const w of this.workers.values()) w.send({ kind: 'secrets', secrets });
    });
  }

  private liveWorkers(): WorkerHandle[] {
    return [...this.workers.values()].filter((w) => w.live);
  }

  /** Forks the workers; resolves when every one listens with the current config, throws if one fails to start. */
  async start(): Promise<void> {
    cluster.schedulingPolicy = schedulingPolicy();
    cluster.setupPrimary({ serialization: 'advanced' });
    await new Promise<void>((resolve, reject) => {
      let live = 0;
      const onLive = () => {
        if (++live === this.options.concurrency) resolve();
      };
      const onEarlyExit = (index: number, code: number | null, signal: string | null) =>
        reject(new Error(`proxy worker ${index} exited (${signal ?? `code ${code}`}) before it was serving; its error is logged above`));
      for (let i = 0; i < this.options.concurrency; i++) this.fork(i, onLive, onEarlyExit);
    });
    this.started = true;
    await this.prepare('/listeners');
    this.options.logger?.info({ workers: this.options.concurrency, listeners: this.view.listeners.map((l) => `${l.name} ${l.address}`) }, 'proxy started');
  }

  private fork(index: number, onLive?: () => void, onEarlyExit?: (index: number, code: number | null, signal: string | null) => void): void {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    const handle = new WorkerHandle(index, worker);
    this.workers.set(index, handle);
    worker.on('message', (m: unknown) => {
      if (!isWorkerMessage(m) || (m as WorkerMessage).kind !== 'live') return;
      // Current secrets first (the CA's workload certificate), then the xDS config, then traffic.
      const secrets = this.options.secrets.names().map((n) => this.options.secrets.get(n)).filter((s): s is Secret => s !== undefined);
      if (secrets.length) handle.send({ kind: 'secrets', secrets });
      void this.xds.join(handle, () => {
        if (handle.exited) return;
        handle.live = true;
        this.options.logger?.debug({ worker: index, workerPid: worker.process.pid }, 'worker live');
        onLive?.();
      });
    });
    worker.once('exit', (code, signal) => {
      handle.onExit();
      if (this.workers.get(index) === handle) this.workers.delete(index);
      if (this.stopping) return;
      if (!this.started) return onEarlyExit?.(index, code, signal);
      // Crashed (or killed): a replacement with the same index, a little later when crashes repeat.
      const delay = Date.now() - handle.startedAt < 10_000 ? Math.min(30_000, 500 * 2 ** Math.min(this.restarts++, 6)) : 0;
      this.options.logger?.warn({ worker: index, workerPid: worker.process.pid, code, signal, restartInMs: delay }, 'proxy worker exited; starting a replacement');
      setTimeout(() => {
        if (!this.stopping) this.fork(index);
      }, delay).unref();
    });
  }

  /** Every worker configured and serving (the admin's /ready). */
  ready(): boolean {
    return this.liveWorkers().length === this.options.concurrency;
  }

  /** The admin interface of the primary reads the workers (gathered per request in `prepare`). */
  adminHooks(): Partial<AdminServerOptions> {
    return {
      stats: this.stats,
      isReady: () => this.ready(),
      configDump: () => this.view.configDump,
      clusters: () => this.view.clusters as AdminClusterInfo[],
      listeners: () => this.view.listeners as AdminListenerInfo[],
      ...(this.trace ? { trace: this.trace } : {}),
      prepare: (path) => this.prepare(path),
    };
  }

  private async prepare(path: string): Promise<void> {
    const live = this.liveWorkers().sort((a, b) => a.index - b.index);
    if (path === '/stats' || path === '/stats/prometheus') {
      const replies = await Promise.all(live.map(async (w) => ({ worker: w.index, reply: await w.request<StatsReply>((id) => ({ kind: 'stats', id }), QUERY_TIMEOUT_MS) })));
      this.stats.update(aggregateSamples(replies.flatMap((r) => (r.reply ? [{ worker: r.worker, samples: r.reply.samples }] : []))));
      await this.readView(live, ['clusters']); // cluster names label the Prometheus output
    } else if (path === '/isthmus/trace' && this.trace) {
      const replies = await Promise.all(live.map((w) => w.request<TraceReply>((id) => ({ kind: 'trace', id }), QUERY_TIMEOUT_MS)));
      this.trace.load(replies.filter((r): r is TraceReply => r !== undefined));
    } else if (path === '/config_dump') {
      await this.readView(live, ['configDump']);
    } else if (path === '/clusters') {
      await this.readView(live, ['clusters']);
    } else if (path === '/listeners') {
      await this.readView(live, ['listeners']);
    }
  }

  /** Config is the same in every worker: the first live one answers. */
  private async readView(live: readonly WorkerHandle[], parts: ViewPart[]): Promise<void> {
    const first = live[0];
    if (!first) return;
    const reply = await first.request<ViewReply>((id) => ({ kind: 'view', id, parts }), QUERY_TIMEOUT_MS);
    if (reply) this.view = { ...this.view, ...reply };
  }

  /** SIGTERM: every worker drains (their own --drain-time-s), killed if one takes much longer. */
  async stop(): Promise<void> {
    this.stopping = true;
    const handles = [...this.workers.values()];
    await Promise.all(handles.map((h) => new Promise<void>((resolve) => {
      if (h.exited) return resolve();
      const timer = setTimeout(() => h.worker.process.kill('SIGKILL'), this.options.drainTimeMs + 5_000);
      h.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      h.worker.process.kill('SIGTERM');
    })));
  }
}
