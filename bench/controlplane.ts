/**
 * Control plane benchmark: translation time and memory at 100 / 1,000 / 10,000 services, ADS fan-out of
 * one change to 10 / 100 / 1,000 connected proxies, and the bytes one changed service costs in
 * state-of-the-world vs delta xDS. Real components only: src/api's validation and buildSnapshot, translate(),
 * Snapshot (real Envoy protobuf encoding), SnapshotCache and XdsServer over gRPC on 127.0.0.1, and raw
 * @grpc/grpc-js ADS clients using discoveryCodec (controlplane/proxies.ts), in a worker thread so that they do
 * not share the server's event loop. The generated config is in controlplane/config.ts.
 *
 * Run: npm run bench:controlplane   (compiles src + bench with bench/tsconfig.json, runs with --expose-gc)
 * Writes bench/results/controlplane-<date>.md and .json. Stops by itself (watchdog at 180 s).
 * Profiling one scenario: BENCH_PROFILE=1000:gateway | 10000:sidecar | fanout:1000 | fanout-delta:1000, run the
 * compiled file with node --expose-gc --cpu-prof. BENCH_WINDOW=<bytes> sets the clients' HTTP/2 flow-control
 * window (grpc-js default 64 KiB; Envoy's default is 256 MiB).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { translate } from '../src/controlplane/translate/index.js';
import type { ConfigSnapshot } from '../src/controlplane/translate/index.js';
import { SnapshotCache, XDS_TYPES, XdsServer } from '../src/controlplane/xds/index.js';
import type { Snapshot, XdsTypeName } from '../src/controlplane/xds/index.js';
import type { DeltaDiscoveryResponse, DiscoveryResponse } from '../src/envoy/index.js';
import { NODES, configOf, sidecarNode, snapshotOf } from './controlplane/config.js';
import { STREAMS_PER_CHANNEL, WATCHED, channel, deltaProxy, now, sotwProxy } from './controlplane/proxies.js';
import type { FromWorker, Sized, ToWorker } from './controlplane/proxies.js';

const SIZES = [100, 1_000, 10_000];
const FANOUT = [10, 100, 1_000];
const FANOUT_SERVICES = 1_000;
/**
 * Translate + encode for every node, as ControlPlane does when a proxy connects (push without sharing) and, on a
 * change, for every proxy that differs from the others in labels, namespace or metadata: ~0.7 s per node at
 * 1,000 services, so measured at 10 only.
 */
const PER_NODE_FANOUT = 10;
/** The same change to delta xDS proxies, at the largest N only (the initial sync alone takes ~20 s). */
const DELTA_FANOUT = 1_000;
const WATCHDOG_MS = 180_000;
const MB = 1024 * 1024;

// ─── Measurement helpers ─────────────────────────────────────────────────────────────────────────────

const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => undefined);
interface Measured<T> { value: T; ms: number; heapMB: number; rssMB: number }

/** Memory of the first run: heap retained (after GC, result alive) and RSS growth during it; median time of `runs`. */
function measure<T>(runs: number, fn: () => T): Measured<T> {
  gc();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const value = fn();
  const times = [performance.now() - t0];
  const rss = process.memoryUsage().rss;
  gc();
  const heapMB = (process.memoryUsage().heapUsed - before.heapUsed) / MB;
  for (let r = 1; r < runs; r++) {
    gc();
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return { value, ms: quantile(times, 0.5), heapMB, rssMB: (rss - before.rss) / MB };
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function encodedBytes(snapshot: Snapshot, type: XdsTypeName): number {
  let sum = 0;
  for (const r of snapshot.resources(XDS_TYPES[type]).values()) sum += r.any.value.length;
  return sum;
}

function timeout<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms); })]).finally(() => clearTimeout(timer));
}

/** A table row, and its numbers unformatted for the JSON file. */
interface Row { scenario: string; size: string; time: string; memory: string; notes: string; data: Record<string, number> }
const rows: Row[] = [];
const fixed = (x: number, digits = 0): string => x.toFixed(digits);
const signed = (x: number, digits = 0): string => `${x < 0 ? '-' : '+'}${Math.abs(x).toFixed(digits)}`;
const round = (x: number): number => Math.round(x * 10) / 10;
function row(r: Row): void {
  rows.push(r);
  console.log(`${r.scenario.padEnd(50)} ${r.size.padStart(9)} ${r.time.padStart(22)} ${r.memory.padStart(28)}  ${r.notes}`);
}

// ─── 1. Translation ──────────────────────────────────────────────────────────────────────────────────

function benchTranslation(): void {
  for (const node of Object.values(NODES)) snapshotOf(translate(configOf(100), node)); // warm-up (JIT, proto loading), not reported
  for (const n of SIZES) {
    const runs = n <= 1_000 ? 3 : 1;
    const config = measure(1, () => configOf(n));
    row({
      scenario: 'config: validate + buildSnapshot', size: `${n} svc`, time: `${fixed(config.ms)} ms`, memory: `heap ${signed(config.heapMB, 1)} MB`,
      notes: `${config.value.serviceEntries?.length} SE, ${config.value.destinationRules?.length} DR, ${config.value.virtualServices?.length} VS`,
      data: { services: n, ms: round(config.ms), heapMB: round(config.heapMB) },
    });
    for (const [kind, node] of Object.entries(NODES)) {
      const t = measure(runs, () => translate(config.value, node));
      const r = t.value;
      row({
        scenario: `translate: ${kind}`, size: `${n} svc`, time: `${fixed(t.ms)} ms`, memory: `heap ${signed(t.heapMB, 1)} MB, RSS ${signed(t.rssMB)} MB`,
        notes: `${r.clusters.length} CDS, ${r.endpoints.length} EDS, ${r.listeners.length} LDS, ${r.routes.length} RDS` + (runs > 1 ? ` (median of ${runs})` : ''),
        data: { services: n, ms: round(t.ms), heapMB: round(t.heapMB), rssMB: round(t.rssMB), clusters: r.clusters.length, endpoints: r.endpoints.length, listeners: r.listeners.length, routes: r.routes.length },
      });
      const s = measure(runs, () => snapshotOf(r));
      const bytes = Object.fromEntries((['CDS', 'EDS', 'LDS', 'RDS'] as const).map((type) => [type, encodedBytes(s.value, type)]));
      row({
        scenario: `  Snapshot (proto encode): ${kind}`, size: `${n} svc`, time: `${fixed(s.ms)} ms`, memory: `heap ${signed(s.heapMB, 1)} MB, RSS ${signed(s.rssMB)} MB`,
        notes: Object.entries(bytes).map(([type, b]) => `${type} ${fixed(b / 1024)} KB`).join(', '),
        data: { services: n, ms: round(s.ms), heapMB: round(s.heapMB), rssMB: round(s.rssMB), ...Object.fromEntries(Object.entries(bytes).map(([type, b]) => [`${type}bytes`, b])) },
      });
    }
  }
}

// ─── 2. Fan-out and 3. bytes per change ──────────────────────────────────────────────────────────────

interface Fixture { cache: SnapshotCache; xds: XdsServer; address: string; changedConfig: ConfigSnapshot; before: Snapshot; after: Snapshot; changeMs: number }

async function startServer(): Promise<Fixture> {
  const cache = new SnapshotCache({ debounceMs: 50, maxDelayMs: 500 }); // as ControlPlane configures it
  const xds = new XdsServer({ cache });
  const port = await xds.listen('127.0.0.1:0');
  const before = snapshotOf(translate(configOf(FANOUT_SERVICES), NODES.sidecar));
  const changedConfig = configOf(FANOUT_SERVICES, true);
  const t0 = performance.now();
  const after = snapshotOf(translate(changedConfig, NODES.sidecar));
  const changeMs = performance.now() - t0;
  const changedTypes = (Object.keys(XDS_TYPES) as XdsTypeName[]).filter((t) => before.version(XDS_TYPES[t]) !== after.version(XDS_TYPES[t]));
  row({
    scenario: 'change: translate + encode once', size: `${FANOUT_SERVICES} svc`, time: `${fixed(changeMs)} ms`, memory: '-',
    notes: `sidecar; svc-1 gets a 4th endpoint with a new service account; types changed: ${changedTypes.join(', ')}`, data: { services: FANOUT_SERVICES, ms: round(changeMs) },
  });
  if (Object.keys(changedVersions(before, after)).length === 0) throw new Error('the change reaches neither CDS nor LDS');
  return { cache, xds, address: `127.0.0.1:${port}`, changedConfig, before, after, changeMs };
}

/** The new version of each watched type the change touches. */
function changedVersions(before: Snapshot, after: Snapshot): Record<string, string> {
  return Object.fromEntries(WATCHED.filter((t) => before.version(t) !== after.version(t)).map((t) => [t, after.version(t)]));
}

/** Server-side ACK times: proxy-status' acked.at of every changed type, once all of them are there. */
async function serverAckTimes(f: Fixture, nodeIds: Set<string>, versions: Record<string, string>): Promise<number[]> {
  const types = (Object.keys(XDS_TYPES) as XdsTypeName[]).filter((t) => versions[XDS_TYPES[t]] !== undefined);
  for (let tries = 0; tries < 250; tries++) {
    const statuses = f.xds.proxyStatus().filter((s) => nodeIds.has(s.nodeId));
    const times = statuses.map((s) => Math.max(...types.map((t) => (s.types[t].acked?.version === versions[XDS_TYPES[t]] ? (s.types[t].acked?.at.getTime() ?? Infinity) : Infinity))));
    if (times.length === nodeIds.size && times.every(Number.isFinite)) return times;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the server did not record every ACK within 5 s');
}

/**
 * 'shared': the change is translated and encoded once and the same Snapshot is set for every node; SotW proxies.
 * 'delta': the same with delta (incremental) xDS proxies.
 * 'per-node': translate + encode for each node, one after the other (ControlPlane's path for proxies that are not alike).
 */
async function benchFanout(f: Fixture, n: number, mode: 'shared' | 'delta' | 'per-node' = 'shared'): Promise<void> {
  const perNode = mode === 'per-node';
  const nodeIds = Array.from({ length: n }, (_, j) => `sidecar~10.9.${j >> 8}.${j & 255}~fanout${n}-${j}.app-0~app-0.svc.cluster.local`);
  for (const id of nodeIds) f.cache.setSnapshot(id, f.before); // one Snapshot object shared by identical proxies
  const worker = new Worker(fileURLToPath(new URL('./controlplane/proxies.js', import.meta.url)), { workerData: { address: f.address, nodeIds, delta: mode === 'delta' } });
  const next = (kind: FromWorker['kind'], ms: number) => timeout(ms, `${n} proxies: ${kind}`, new Promise<FromWorker>((resolve, reject) => {
    const on = (m: FromWorker) => { if (m.kind === kind) { worker.off('message', on); resolve(m); } };
    worker.on('message', on);
    worker.once('error', reject);
  }));
  const size = `N=${n}`;
  const label = { shared: 'fan-out', delta: 'delta fan-out', 'per-node': 'fan-out, translate per node' }[mode];
  try {
    const t0 = now();
    const synced = await next('synced', 60_000);
    if (synced.kind !== 'synced') return;
    const rss = process.memoryUsage().rss / MB;
    if (!perNode) {
      row({
        scenario: `${label}: connect + initial sync`, size, time: `${fixed(synced.at - t0)} ms`, memory: `RSS ${fixed(rss)} MB`, notes: `${fixed(synced.bytes / MB, 1)} MB received (CDS + LDS of ${FANOUT_SERVICES} svc)`,
        data: { proxies: n, ms: round(synced.at - t0), rssMB: round(rss), mbReceived: round(synced.bytes / MB) },
      });
    }

    const versions = changedVersions(f.before, f.after);
    worker.postMessage({ kind: 'expect', versions } satisfies ToWorker);
    await new Promise((r) => setTimeout(r, 20)); // the worker has the expectation before anything is sent
    gc();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 25);
    const start = now();
    for (const id of nodeIds) f.cache.setSnapshot(id, perNode ? snapshotOf(translate(f.changedConfig, sidecarNode(id))) : f.after);
    const done = await next('done', 60_000).finally(() => clearInterval(sampler));
    if (done.kind !== 'done') return;
    const client = done.times.map((t) => t - start);
    const server = (await serverAckTimes(f, new Set(nodeIds), versions)).map((t) => t - start);
    const stats = { p50Ms: quantile(server, 0.5), maxMs: Math.max(...server), clientP50Ms: quantile(client, 0.5), clientMaxMs: Math.max(...client) };
    row({
      scenario: `${label}: change ACKed by all`, size, time: `p50 ${fixed(stats.p50Ms)} / max ${fixed(stats.maxMs)} ms`, memory: `RSS peak ${signed((peak - rss0) / MB)} MB`,
      notes: `received by clients p50 ${fixed(stats.clientP50Ms)} / max ${fixed(stats.clientMaxMs)} ms; ${fixed(done.bytes / MB, 1)} MB sent; incl. 50 ms debounce`
        + (perNode ? '' : `, excl. the ${fixed(f.changeMs)} ms translate + encode`),
      data: { proxies: n, ...Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, round(v)])), mbSent: round(done.bytes / MB), rssPeakMB: round((peak - rss0) / MB) },
    });
  } finally {
    worker.postMessage({ kind: 'close' } satisfies ToWorker);
    await timeout(10_000, 'worker exit', new Promise((r) => worker.once('exit', r))).catch(() => worker.terminate());
    for (const id of nodeIds) f.cache.clearSnapshot(id);
  }
}

/** What one changed service costs on the wire for one proxy: SotW resends every cluster, delta only the changed ones. */
async function benchBytes(f: Fixture): Promise<void> {
  const stub = channel(f.address);
  const seen = { sotw: [] as Sized<DiscoveryResponse>[], delta: [] as Sized<DeltaDiscoveryResponse>[] };
  f.cache.setSnapshot('bytes-sotw', f.before);
  f.cache.setSnapshot('bytes-delta', f.before);
  const calls = [sotwProxy(stub, 'bytes-sotw', (r) => seen.sotw.push(r)), deltaProxy(stub, 'bytes-delta', (r) => seen.delta.push(r))];
  const waitFor = (count: () => number, want: number) => timeout(20_000, 'bytes', (async () => { while (count() < want) await new Promise((r) => setTimeout(r, 10)); })());
  try {
    await waitFor(() => seen.sotw.length + seen.delta.length, 4);
    const cdsUrl = XDS_TYPES.CDS;
    const initial = { sotw: seen.sotw.find((r) => r.type_url === cdsUrl), delta: seen.delta.find((r) => r.type_url === cdsUrl) };
    const changed = Object.keys(changedVersions(f.before, f.after)).length;
    f.cache.setSnapshot('bytes-sotw', f.after);
    f.cache.setSnapshot('bytes-delta', f.after);
    await waitFor(() => seen.sotw.length + seen.delta.length, 4 + 2 * changed);
    const sotw = seen.sotw.slice(2).find((r) => r.type_url === cdsUrl);
    const delta = seen.delta.slice(2).find((r) => r.type_url === cdsUrl);
    if (!sotw || !delta || !initial.sotw || !initial.delta) throw new Error('no CDS update seen');
    row({
      scenario: 'bytes: initial CDS', size: `${FANOUT_SERVICES} svc`, time: '-', memory: `SotW ${fixed(initial.sotw.bytes / 1024)} KB, delta ${fixed(initial.delta.bytes / 1024)} KB`,
      notes: `${initial.sotw.resources.length} clusters`, data: { services: FANOUT_SERVICES, sotwBytes: initial.sotw.bytes, deltaBytes: initial.delta.bytes },
    });
    row({
      scenario: 'bytes: one changed service (CDS)', size: `${FANOUT_SERVICES} svc`, time: '-', memory: `SotW ${fixed(sotw.bytes / 1024)} KB, delta ${fixed(delta.bytes / 1024, 1)} KB`,
      notes: `per proxy: SotW resends all ${sotw.resources.length} clusters, delta sends the ${delta.resources.length} changed (${fixed(sotw.bytes / delta.bytes)}x fewer bytes)`,
      data: { services: FANOUT_SERVICES, sotwBytes: sotw.bytes, deltaBytes: delta.bytes, sotwResources: sotw.resources.length, deltaResources: delta.resources.length },
    });
  } finally {
    for (const c of calls) c.cancel();
    stub.close();
  }
}

// ─── Report ──────────────────────────────────────────────────────────────────────────────────────────

function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  return { cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', memoryGB: Math.round(os.totalmem() / 1024 ** 3), node: process.version, os: `${os.type()} ${os.release()} ${os.arch()}`, date: new Date().toISOString() };
}

function writeResults(m: Record<string, string | number>, errors: string[]): string {
  const dir = join(process.cwd(), 'bench', 'results'); // npm runs scripts from the package root
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `controlplane-${String(m.date).slice(0, 10)}`);
  writeFileSync(`${base}.json`, `${JSON.stringify({ machine: m, rows, errors }, null, 2)}\n`);
  const table = ['| scenario | N / services | time | memory / bytes | notes |', '|---|---|---|---|---|', ...rows.map((r) => `| ${r.scenario.trim()} | ${r.size} | ${r.time} | ${r.memory} | ${r.notes} |`)];
  const md = [
    '# Control plane benchmark',
    '',
    `${m.date} — ${m.cpus} × ${m.cpuModel}, ${m.memoryGB} GB, Node ${m.node}, ${m.os}.`,
    '',
    'Produced by `npm run bench:controlplane` (bench/controlplane.ts), one run.',
    '',
    '- Config: ServiceEntries (2 ports, 3 endpoints), a DestinationRule with 2 subsets per 10 services, a VirtualService per',
    '  service bound to the gateway and to mesh, one Gateway (HTTP 80, HTTPS 443, AUTO_PASSTHROUGH 15443), all through validateObject.',
    '  The east-west node is selected by the same Gateway and differs only by ROUTER_MODE=sni-dnat, which translate() does not read.',
    '- Translation memory: heap retained after GC with the result alive, and RSS growth during the call. Snapshot = CDS, EDS,',
    '  LDS, RDS encoded as ControlPlane does (SDS left out).',
    `- Fan-out: sidecar config of ${FANOUT_SERVICES} services; one Snapshot set for every node, as ControlPlane.pushAll shares it between`,
    '  alike proxies ("translate per node": translate + encode for each node, as for proxies that differ in labels or namespace,',
    '  and on connect); SnapshotCache debounce 50 ms as ControlPlane; clients subscribe CDS + LDS wildcard and ACK',
    `  every response, in a worker thread of the same process, ${STREAMS_PER_CHANNEL} streams per connection, grpc-js' default flow-control`,
    '  window. Time from setSnapshot to the server recording the last ACK (proxy-status, ms resolution); RSS is the whole process.',
    '',
    ...table,
    ...(errors.length > 0 ? ['', '## Errors', '', ...errors.map((e) => `- ${e}`)] : []),
    '',
  ].join('\n');
  writeFileSync(`${base}.md`, md);
  return base;
}

async function main(): Promise<void> {
  if (!(globalThis as { gc?: unknown }).gc) console.warn('run with --expose-gc for meaningful memory numbers');
  const m = machine();
  console.log(`${m.cpus} × ${m.cpuModel}, ${m.memoryGB} GB, Node ${m.node}, ${m.date}\n`);
  const errors: string[] = [];
  setTimeout(() => {
    errors.push(`stopped by the ${WATCHDOG_MS / 1000} s watchdog; the rows above are complete`);
    console.error(`bench: ${errors.at(-1)}; written: ${writeResults(m, errors)}.{md,json}`);
    process.exit(2);
  }, WATCHDOG_MS).unref();
  benchTranslation();
  const f = await startServer();
  try {
    await benchBytes(f).catch((err: Error) => errors.push(`bytes: ${err.message}`));
    for (const n of FANOUT) await benchFanout(f, n).catch((err: Error) => errors.push(`fan-out N=${n}: ${err.message}`));
    await benchFanout(f, PER_NODE_FANOUT, 'per-node').catch((err: Error) => errors.push(`fan-out per node N=${PER_NODE_FANOUT}: ${err.message}`));
    await benchFanout(f, DELTA_FANOUT, 'delta').catch((err: Error) => errors.push(`fan-out delta N=${DELTA_FANOUT}: ${err.message}`));
  } finally {
    await f.xds.close();
    f.cache.close();
  }
  for (const e of errors) console.error(`error: ${e}`);
  console.log(`\nwritten: ${writeResults(m, errors)}.{md,json}`);
}

/**
 * One scenario alone, for node --cpu-prof: BENCH_PROFILE=<services>:<node> (e.g. 10000:sidecar) translates and
 * encodes once; BENCH_PROFILE=fanout:<proxies> runs one fan-out.
 */
async function profileOne(spec: string): Promise<void> {
  const [n, kind] = spec.split(':') as [string, keyof typeof NODES];
  if (n === 'fanout' || n === 'fanout-delta') {
    const f = await startServer();
    await benchFanout(f, Number(kind), n === 'fanout' ? 'shared' : 'delta');
    await f.xds.close();
    f.cache.close();
    return;
  }
  const config = configOf(Number(n));
  const t = measure(1, () => translate(config, NODES[kind] ?? NODES.sidecar));
  const s = measure(1, () => snapshotOf(t.value));
  console.log(`translate ${spec}: ${fixed(t.ms)} ms; Snapshot: ${fixed(s.ms)} ms`);
}

if (process.env.BENCH_PROFILE) await profileOne(process.env.BENCH_PROFILE);
else await main();
