// isthmus proxy --concurrency N: a primary (xDS, admin) and N node:cluster workers sharing the listeners.
export { ProxyPrimary } from './primary.js';
export type { PrimaryOptions } from './primary.js';
export { runWorker } from './worker.js';
export { WorkerFanout, AppliedState } from './fanout.js';
export type { FanoutWorker } from './fanout.js';
export { aggregateSamples, AggregatedStats, MergedTrace } from './aggregate.js';
export { WORKER_INDEX_ENV } from './messages.js';
export type { ResourceKind, ResourceNames, ApplyReply } from './messages.js';
