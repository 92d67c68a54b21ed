/**
 * A worker of `isthmus proxy --concurrency N`: a full data plane (listeners shared with the other workers
 * through node:cluster) that takes its xDS config, workload certificates and admin questions from the
 * primary over IPC. It drains on SIGTERM, and when the primary goes away.
 */
import type { Logger } from 'pino';
import type { Secret } from '../../envoy/index.js';
import type { ProxyServer } from '../server.js';
import type { ApplyReply, PrimaryMessage, ResourceKind, StatsReply, TraceReply, ViewReply, WorkerMessage } from './messages.js';

function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

async function apply(server: ProxyServer, type: ResourceKind, resources: readonly unknown[], version: string): Promise<ApplyReply> {
  const d = server.dynamic;
  const result = type === 'clusters' ? await d.applyClusters(resources, version)
    : type === 'endpoints' ? d.applyEndpoints(resources)
    : type === 'listeners' ? await d.applyListeners(resources, version)
    : type === 'routes' ? d.applyRoutes(resources, version)
    : d.applySecrets(resources, version);
  return { ...(result.error ? { error: result.error } : {}), names: { eds: d.edsResourceNames(), rds: d.rdsResourceNames(), sds: d.sdsResourceNames() } };
}

function view(server: ProxyServer, parts: readonly string[]): ViewReply {
  return {
    ...(parts.includes('configDump') ? { configDump: server.configDump() } : {}),
    ...(parts.includes('clusters') ? { clusters: server.clusterInfo() } : {}),
    ...(parts.includes('listeners') ? { listeners: server.allListeners().map((l) => ({ name: l.name, address: `${l.address.address}:${l.address.port}` })) } : {}),
  };
}

/** Starts the worker's listeners, serves until told to stop, then drains. */
export async function runWorker(server: ProxyServer, logger: Logger | undefined): Promise<void> {
  // Config changes one at a time, in order; stats and views answer at once.
  let queue: Promise<void> = Promise.resolve();
  process.on('message', (m: PrimaryMessage) => {
    switch (m.kind) {
      case 'apply':
        queue = queue
          .then(() => apply(server, m.type, m.resources, m.version))
          .catch((err: unknown): ApplyReply => ({ error: `worker failed to apply ${m.type}: ${(err as Error).message}`, names: { eds: [], rds: [], sds: [] } }))
          .then((body) => send({ kind: 'reply', id: m.id, body }));
        break;
      case 'secrets':
        queue = queue.then(() => server.secrets.set(m.secrets as Secret[]));
        break;
      case 'stats':
        send({ kind: 'reply', id: m.id, body: { samples: server.stats.samples() } satisfies StatsReply });
        break;
      case 'view':
        send({ kind: 'reply', id: m.id, body: view(server, m.parts) });
        break;
      case 'trace':
        send({ kind: 'reply', id: m.id, body: { entries: server.trace.query(), recorded: server.trace.recorded, sampledOut: server.trace.sampledOut } satisfies TraceReply });
        break;
    }
  });
  await server.start();
  send({ kind: 'live' });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const shutdown = (why: string) => {
      if (stopping) return;
      stopping = true;
      logger?.info({ why }, 'worker draining');
      void server.stop().then(resolve);
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    // The primary died (kill -9): nobody restarts or configures this worker any more.
    process.once('disconnect', () => shutdown('the primary went away'));
  });
  // The IPC channel would keep the process alive.
  if (process.connected) process.disconnect();
}
