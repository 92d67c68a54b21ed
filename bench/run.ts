/**
 * `npm run bench`: the seeds' traffic paths through Isthmus, nginx and HAProxy side by side with the direct path,
 * in one run on 127.0.0.1, then the control-plane benchmark (bench/controlplane.ts).
 *
 *   S0  wrk -> TLS -> nginx (the Lambda's 258-byte page): the limit on this machine
 *   S1  seed 000: wrk -> HTTP -> egress gateway -> mTLS (SNI lambda.external) -> ingress gateway (MUTUAL) -> TLS -> S0's nginx
 *   S2  seed 003: wrk -> HTTP -> Isthmus VM proxy -> mTLS (SNI outbound_.80_._.frontend...) -> east-west gateway (SNI
 *       passthrough) -> nginx with ssl_verify_client
 *   S3  seed 003's REST -> gRPC transcoding through the Isthmus VM proxy to a grpc-js server (and gRPC direct / through)
 *   node-floor (S1 only): bench/node-floor.ts in both roles, the Node.js floor for an HTTP gateway (a reference row)
 *
 * Certificates come from `isthmus ca`; every server is started here and stopped at the end. Needs `npm run build`
 * (the script does it). Options: --skip-controlplane, --only S0,S1,..., --duration <s>, --warmup <s>, --connections <n>,
 * --workers 1,2 (S1 and S2 with each worker count: nginx worker_processes, HAProxy nbthread, isthmus --concurrency),
 * --impl isthmus,node-floor,nginx,haproxy (which gateways S1/S2 run), --isthmus-arg <arg> (repeatable, appended to every
 * `isthmus proxy` command line, for A/B runs), --cpu-prof <dir> (run the Isthmus proxies under node --cpu-prof,
 * profiles written there on exit). Runs with --only, --impl, --cpu-prof, --isthmus-arg or ISTHMUS_BENCH_CLI write their
 * table under $TMPDIR/isthmus-bench-results instead of bench/results (which keeps complete runs only).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import * as peers from './peers.js';
import type { CertFiles, Pki } from './peers.js';
import { cpuSeconds, h2load, peakRssMB, processTree, run, wrk } from './measure.js';
import type { LoadOptions, LoadResult } from './measure.js';

const ROOT = process.cwd(); // npm runs scripts from the package root
// ISTHMUS_BENCH_CLI: another build of the CLI for the Isthmus rows (A/B runs of a change against a saved build).
const CLI = process.env.ISTHMUS_BENCH_CLI ?? join(ROOT, 'dist', 'cli', 'main.js');
const PAGE = join(ROOT, 'examples', 'multicloud', 'lambda', 'hello-world.html');
const DESCRIPTOR = join(ROOT, 'examples', 'vm', 'fortune-teller', 'fortune.pb');
const FORTUNE_SERVER = join(ROOT, 'dist', 'bench', 'bench', 'fortune-server.js');
const CONTROLPLANE = join(ROOT, 'dist', 'bench', 'bench', 'controlplane.js');
const NODE_FLOOR = join(ROOT, 'dist', 'bench', 'bench', 'node-floor.js');
/** [check, Debian package]: a command on PATH, or a file that must exist. */
const TOOLS = [['nginx', 'nginx'], [peers.NGINX_STREAM_MODULE, 'libnginx-mod-stream'], ['haproxy', 'haproxy'], ['wrk', 'wrk'], ['h2load', 'nghttp2-client']] as const;

// ─── Options ─────────────────────────────────────────────────────────────────────────────────────────

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const ONLY = new Set((opt('--only') ?? 'S0,S1,S2,S3').split(','));
const LOAD: LoadOptions = { durationS: Number(opt('--duration') ?? 10), warmupS: Number(opt('--warmup') ?? 2), connections: Number(opt('--connections') ?? 50), threads: 1 };
const CPU_PROF = opt('--cpu-prof');
const WORKERS = (opt('--workers') ?? '1,2').split(',').map(Number);
const IMPLS = (opt('--impl') ?? 'isthmus,node-floor,nginx,haproxy').split(',') as Array<'isthmus' | 'node-floor' | 'nginx' | 'haproxy'>;
const ISTHMUS_ARGS = argv.flatMap((a, i) => (a === '--isthmus-arg' && argv[i + 1] !== undefined ? [argv[i + 1] as string] : []));
if (WORKERS.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--workers ${opt('--workers')}: give worker counts like 1,2`);

// ─── Processes ───────────────────────────────────────────────────────────────────────────────────────

interface Proc { readonly name: string; readonly child: ChildProcess; readonly pid: number; readonly log: string }
const live = new Set<Proc>();
let work = '';

function sh(cmd: string): boolean {
  return spawnSync('sh', ['-c', cmd], { stdio: 'ignore' }).status === 0;
}

async function ensureTools(): Promise<void> {
  const missing = TOOLS.filter(([bin]) => (bin.startsWith('/') ? !existsSync(bin) : !sh(`command -v ${bin}`)));
  if (missing.length === 0) return;
  const pkgs = missing.map(([, pkg]) => pkg).join(' ');
  if (!sh('command -v apt-get')) throw new Error(`missing ${missing.map(([b]) => b).join(', ')} and apt-get is not available: install the packages (${pkgs}) with your package manager and run again`);
  if (process.getuid?.() !== 0) throw new Error(`missing ${missing.map(([b]) => b).join(', ')}: run as root so that the benchmark can apt-get install them, or: sudo apt-get install -y ${pkgs}`);
  console.log(`installing ${pkgs} with apt-get ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', ...pkgs.split(' ')]]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${r.status})`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)); });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function start(name: string, cmd: string, args: readonly string[], ports: readonly number[]): Promise<Proc> {
  const log = join(work, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(cmd, args, { cwd: work, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const proc: Proc = { name, child, pid: child.pid ?? -1, log };
  live.add(proc);
  let exited = false;
  child.once('exit', () => { exited = true; live.delete(proc); });
  const deadline = Date.now() + 20_000;
  for (const port of ports) {
    while (!(await canConnect(port))) {
      if (exited) throw new Error(`${name} exited during start-up:\n${readFileSync(log, 'utf8').slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`${name}: port ${port} not listening after 20 s; see ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return proc;
}

async function stop(p: Proc): Promise<void> {
  if (!live.has(p)) return;
  const exited = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** An Isthmus proxy; with workers > 1 (--concurrency) it is measured once every worker serves (/ready). */
async function isthmus(name: string, yaml: string, ports: readonly number[], workers = 1): Promise<Proc> {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, yaml);
  // Workers inherit node's flags: one profile per process, in a directory per proxy.
  const prof = CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', join(CPU_PROF, name), ...(workers === 1 ? ['--cpu-prof-name', `${name}.cpuprofile`] : [])] : [];
  const adminFile = join(work, `${name}.admin`);
  rmSync(adminFile, { force: true });
  const proc = await start(name, process.execPath, [...prof, CLI, 'proxy', '-c', file, '--drain-time-s', '1', '--concurrency', String(workers),
    '--admin-address-path', adminFile, ...ISTHMUS_ARGS], ports);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const admin = existsSync(adminFile) ? readFileSync(adminFile, 'utf8').trim() : '';
    const ready = admin ? await get(`http://${admin}/ready`, {}).catch(() => undefined) : undefined;
    if (ready?.status === 200) return proc;
    if (Date.now() > deadline) throw new Error(`${name}: not ready after 60 s; see ${proc.log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The Node.js floor (node-floor.ts): one process, whatever the worker count. */
function nodeFloor(name: string, args: readonly string[], port: number): Promise<Proc> {
  return start(name, process.execPath, [NODE_FLOOR, '--listen', String(port), ...args], [port]);
}

function nginx(name: string, conf: string, ports: readonly number[]): Promise<Proc> {
  const file = join(work, `${name}.conf`);
  writeFileSync(file, conf);
  mkdirSync(join(work, `${name}-tmp`), { recursive: true });
  return start(name, 'nginx', ['-p', work, '-c', file], ports);
}

function haproxy(name: string, cfg: string, ports: readonly number[]): Promise<Proc> {
  const file = join(work, `${name}.cfg`);
  writeFileSync(file, cfg);
  return start(name, 'haproxy', ['-db', '-f', file], ports);
}

// ─── PKI (isthmus ca) ────────────────────────────────────────────────────────────────────────────────

async function cli(args: readonly string[]): Promise<void> {
  const r = await run(process.execPath, [CLI, ...args]);
  if (r.code !== 0) throw new Error(`isthmus ${args.join(' ')}: ${r.stderr || r.stdout}`);
}

async function makePki(): Promise<Pki> {
  const d = (p: string) => join(work, 'pki', p);
  const issue = async (ca: string, name: string, spiffe: string, dns: readonly string[]): Promise<CertFiles> => {
    await cli(['ca', 'issue', '--ca', d(ca), '--spiffe', spiffe, ...dns.flatMap((n) => ['--dns', n]), '--out', d(name)]);
    const files = { cert: join(d(name), 'cert.pem'), key: join(d(name), 'key.pem'), ca: join(d(name), 'ca-cert.pem'), pem: join(d(name), 'haproxy.pem') };
    writeFileSync(files.pem, readFileSync(files.cert, 'utf8') + readFileSync(files.key, 'utf8'), { mode: 0o600 });
    return files;
  };
  // Seed 000: two meshes that share no root. Seed 003: one root, a mesh and a VM intermediate.
  for (const [root, td] of [['mesh-a-root', 'mesh-a.local'], ['mesh-b-root', 'cluster.local'], ['vm-mesh-root', 'cluster.local']]) {
    await cli(['ca', 'init', '--dir', d(root!), '--trust-domain', td!]);
  }
  await cli(['ca', 'intermediate', '--root', d('mesh-a-root'), '--dir', d('mesh-a-ca'), '--name', 'mesh-a-ca']);
  await cli(['ca', 'intermediate', '--root', d('mesh-b-root'), '--dir', d('mesh-b-ca'), '--name', 'mesh-b-ca']);
  await cli(['ca', 'intermediate', '--root', d('vm-mesh-root'), '--dir', d('mesh-ca'), '--name', 'mesh-ca']);
  await cli(['ca', 'intermediate', '--root', d('vm-mesh-root'), '--dir', d('vm-ca'), '--name', 'vm-ca', '--trust-domain', 'vm.local']);
  return {
    egress: await issue('mesh-a-ca', 'egress', 'spiffe://mesh-a.local/ns/istio-egress/sa/istio-egressgateway-service-account', []),
    ingress: await issue('mesh-b-ca', 'ingress', 'spiffe://cluster.local/ns/istio-ingress/sa/istio-ingressgateway-service-account', [peers.LAMBDA_HOST]),
    alb: await issue('mesh-b-ca', 'alb', 'spiffe://cluster.local/ns/aws/sa/alb', [peers.ALB_HOST]),
    frontend: await issue('mesh-ca', 'frontend', 'spiffe://cluster.local/ns/simple-app/sa/frontend', ['frontend.simple-app.svc.cluster.local']),
    vm: await issue('vm-ca', 'vm', 'spiffe://vm.local/vm/vm-1', []),
  };
}

// ─── One request through a path, before measuring it ─────────────────────────────────────────────────

function get(url: string, headers: Record<string, string>, tls?: { ca: string; servername: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const options = { hostname: u.hostname, port: u.port, path: u.pathname, headers, agent: false as const, ...(tls ? { ca: readFileSync(tls.ca), servername: tls.servername } : {}) };
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${url}: no response in 10 s`)));
    req.end();
  });
}

async function expectPage(what: string, res: Promise<{ status: number; body: string }>, check: (body: string) => boolean): Promise<void> {
  const r = await res;
  if (r.status !== 200 || !check(r.body)) throw new Error(`${what}: expected 200 with the expected body, got ${r.status}: ${r.body.slice(0, 300)}`);
}

// ─── Scenarios ───────────────────────────────────────────────────────────────────────────────────────

interface Role { readonly role: string; readonly pids: () => number[] }
interface Row {
  readonly scenario: string;
  readonly impl: string;
  /** Workers per gateway process: nginx worker_processes, HAProxy nbthread, isthmus --concurrency. */
  readonly workers: number;
  readonly tool: string;
  readonly load: LoadResult;
  /** Summed over the processes under test (`roles`). */
  readonly rssMB: number;
  readonly cpuUsPerReq: number;
  readonly roles: ReadonlyArray<{ role: string; rssMB: number; cpuUsPerReq: number }>;
  readonly peer: boolean;
}
const rows: Row[] = [];

/** Runs the load, recording CPU time and peak RSS of the processes under test. */
async function measure(scenario: string, impl: string, roles: readonly Role[], load: (during: { start(): void; stop(): void }) => Promise<LoadResult>, tool = 'wrk', workers = 1): Promise<void> {
  const cpu0 = new Map<string, number>();
  const cpu1 = new Map<string, number>();
  const during = {
    start: () => { for (const r of roles) cpu0.set(r.role, cpuSeconds(r.pids())); },
    stop: () => { for (const r of roles) cpu1.set(r.role, cpuSeconds(r.pids())); },
  };
  const result = await load(during);
  const per = roles.map((r) => ({ role: r.role, rssMB: peakRssMB(r.pids()), cpuUsPerReq: ((cpu1.get(r.role) ?? NaN) - (cpu0.get(r.role) ?? NaN)) * 1e6 / result.requests }));
  const row: Row = { scenario, impl, workers, tool, load: result, rssMB: per.reduce((a, p) => a + p.rssMB, 0), cpuUsPerReq: per.reduce((a, p) => a + p.cpuUsPerReq, 0), roles: per, peer: impl === 'nginx' || impl === 'haproxy' };
  rows.push(row);
  console.log(`  ${scenario} ${impl.padEnd(8)} x${workers} ${fmt(result.rps, 0).padStart(7)} req/s  p50 ${fmt(result.p50, 2)} ms  p99 ${fmt(result.p99, 2)} ms  RSS ${fmt(row.rssMB, 0)} MB  CPU ${fmt(row.cpuUsPerReq, 0)} us/req${result.errors ? `  ERRORS ${result.errors}` : ''}`);
}

const tree = (p: Proc) => () => processTree(p.pid);

async function s0(pki: Pki, albPort: number, alb: Proc): Promise<void> {
  console.log('S0 direct: wrk -> TLS -> nginx');
  const url = `https://127.0.0.1:${albPort}/hello-world`;
  await expectPage('S0', get(url, {}, { ca: pki.alb.ca, servername: peers.ALB_HOST }), (b) => b.length === 258);
  await measure('S0 direct (TLS)', 'direct', [{ role: 'upstream nginx', pids: tree(alb) }], (d) => wrk(url, [], LOAD, d));
}

async function s1(pki: Pki, albPort: number): Promise<void> {
  console.log('S1 seed 000: wrk -> HTTP -> egress -> mTLS -> ingress (MUTUAL) -> TLS -> upstream');
  for (const workers of WORKERS) for (const impl of IMPLS) {
    if (impl === 'node-floor' && workers !== WORKERS[0]) continue; // single process: one row is enough
    const [egressPort, ingressPort] = [await freePort(), await freePort()];
    let ingress: Proc;
    let egress: Proc;
    if (impl === 'node-floor') {
      ingress = await nodeFloor('node-floor-ingress', ['--server-tls', `${pki.ingress.cert},${pki.ingress.key},${pki.egress.ca}`, '--upstream', String(albPort),
        '--upstream-ca', pki.alb.ca, '--sni', peers.ALB_HOST, '--host', peers.LAMBDA_HOST], ingressPort);
      egress = await nodeFloor('node-floor-egress', ['--upstream', String(ingressPort), '--upstream-ca', pki.ingress.ca, '--sni', peers.LAMBDA_HOST,
        '--host', peers.LAMBDA_HOST, '--client-cert', `${pki.egress.cert},${pki.egress.key}`], egressPort);
    } else if (impl === 'isthmus') {
      ingress = await isthmus(`isthmus-ingress-x${workers}`, peers.isthmusIngress(ingressPort, albPort, pki), [ingressPort], workers);
      egress = await isthmus(`isthmus-egress-x${workers}`, peers.isthmusEgress(egressPort, ingressPort, pki), [egressPort], workers);
    } else if (impl === 'nginx') {
      ingress = await nginx(`nginx-ingress-x${workers}`, peers.nginxIngress(work, ingressPort, albPort, pki, workers), [ingressPort]);
      egress = await nginx(`nginx-egress-x${workers}`, peers.nginxEgress(work, egressPort, ingressPort, pki, workers), [egressPort]);
    } else {
      ingress = await haproxy(`haproxy-ingress-x${workers}`, peers.haproxyIngress(ingressPort, albPort, pki, workers), [ingressPort]);
      egress = await haproxy(`haproxy-egress-x${workers}`, peers.haproxyEgress(egressPort, ingressPort, pki, workers), [egressPort]);
    }
    try {
      const url = `http://127.0.0.1:${egressPort}/hello-world`;
      await expectPage(`S1 ${impl}`, get(url, { host: peers.LAMBDA_HOST }), (b) => b.length === 258);
      await measure('S1 seed 000 egress+ingress', impl, [{ role: 'egress', pids: tree(egress) }, { role: 'ingress', pids: tree(ingress) }],
        (d) => wrk(url, [`Host: ${peers.LAMBDA_HOST}`], LOAD, d), 'wrk', workers);
    } finally {
      await stop(egress);
      await stop(ingress);
    }
  }
}

async function s2(pki: Pki, frontendPort: number): Promise<void> {
  console.log('S2 seed 003: wrk -> HTTP -> Isthmus VM proxy -> mTLS (SNI outbound_.80_...) -> east-west (SNI passthrough) -> nginx mTLS');
  for (const workers of WORKERS) for (const impl of IMPLS) {
    if (impl === 'node-floor') continue; // S1 only: a reference for HTTP gateways
    const [ewPort, vmPort, unusedGrpc] = [await freePort(), await freePort(), await freePort()];
    const ew = impl === 'isthmus' ? await isthmus(`isthmus-eastwest-x${workers}`, peers.isthmusEastWest(ewPort, frontendPort), [ewPort], workers)
      : impl === 'nginx' ? await nginx(`nginx-eastwest-x${workers}`, peers.nginxEastWest(work, ewPort, frontendPort, workers), [ewPort])
        : await haproxy(`haproxy-eastwest-x${workers}`, peers.haproxyEastWest(ewPort, frontendPort, workers), [ewPort]);
    const vm = await isthmus(`isthmus-vm-${impl}-x${workers}`, peers.isthmusVm(vmPort, ewPort, unusedGrpc, DESCRIPTOR, pki), [vmPort], workers);
    try {
      const url = `http://127.0.0.1:${vmPort}/frontend`;
      await expectPage(`S2 ${impl}`, get(url, {}), (b) => b.length === 258);
      await measure('S2 seed 003 VM -> east-west', impl, [{ role: 'east-west', pids: tree(ew) }, { role: 'VM proxy (isthmus)', pids: tree(vm) }],
        (d) => wrk(url, [], LOAD, d), 'wrk', workers);
    } finally {
      await stop(vm);
      await stop(ew);
    }
  }
}

async function s3(pki: Pki): Promise<void> {
  console.log('S3 seed 003: REST -> gRPC transcoding through the Isthmus VM proxy -> grpc-js');
  const [grpcPort, vmPort, unusedEw] = [await freePort(), await freePort(), await freePort()];
  const server = await start('fortune-server', process.execPath, [FORTUNE_SERVER, String(grpcPort), DESCRIPTOR], [grpcPort]);
  // The VM proxy's frontend cluster is not used here (its certificates still have to exist).
  const vm = await isthmus('isthmus-vm-s3', peers.isthmusVm(vmPort, unusedEw, grpcPort, DESCRIPTOR, pki), [vmPort]);
  // A gRPC Predict request for user "alice": 5-byte gRPC frame header + PredictionRequest{user_id: "alice"}.
  const message = Buffer.from([0x0a, 5, ...Buffer.from('alice')]);
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
  const body = join(work, 'predict.bin');
  writeFileSync(body, frame);
  const grpcHeaders = ['content-type: application/grpc', 'te: trailers'];
  try {
    const url = `http://127.0.0.1:${vmPort}/v1/fortune/alice`;
    await expectPage('S3', get(url, {}), (b) => b.includes('a journey across the mesh'));
    await measure('S3 gRPC direct (h2load)', 'direct', [{ role: 'grpc-js server', pids: tree(server) }],
      (d) => h2load(`http://127.0.0.1:${grpcPort}/build.stack.fortune.FortuneTeller/Predict`, grpcHeaders, body, LOAD, d), 'h2load');
    await measure('S3 gRPC through VM proxy (h2load)', 'isthmus', [{ role: 'VM proxy', pids: tree(vm) }],
      (d) => h2load(`http://127.0.0.1:${vmPort}/build.stack.fortune.FortuneTeller/Predict`, grpcHeaders, body, LOAD, d), 'h2load');
    await measure('S3 REST -> gRPC transcoding', 'isthmus', [{ role: 'VM proxy', pids: tree(vm) }], (d) => wrk(url, [], LOAD, d));
  } finally {
    await stop(vm);
    await stop(server);
  }
}

// ─── Output ──────────────────────────────────────────────────────────────────────────────────────────

function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function versionOf(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]?.trim() ?? '?';
}

function machine(): string {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? '?';
  return [
    `- CPU: ${cpu}, ${os.cpus().length} cores; ${Math.round(os.totalmem() / 1024 ** 3)} GB; ${os.type()} ${os.release()} ${os.arch()}`,
    `- Node ${process.version}; ${versionOf('nginx', ['-v'])}; ${versionOf('haproxy', ['-v'])}; ${versionOf('wrk', ['-v'])}; ${versionOf('h2load', ['--version'])}`,
  ].join('\n');
}

function table(): string[] {
  const direct = rows.find((r) => r.scenario.startsWith('S0'))?.load;
  const lines = [
    '| scenario | implementation | workers | requests/s | p50 ms | p99 ms | vs direct (S0) | vs best peer: rps / p99 | peak RSS MB | CPU us/req | notes |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const best = rows.filter((o) => o.scenario === r.scenario && o.workers === r.workers && o.peer).sort((a, b) => b.load.rps - a.load.rps)[0];
    const vsBest = best ? `${fmt(r.load.rps / best.load.rps, 2)}x / ${fmt(r.load.p99 / best.load.p99, 2)}x` : '-';
    const vsDirect = direct && !r.scenario.startsWith('S3') ? `${fmt(r.load.rps / direct.rps, 2)}x` : '-';
    const notes = [
      r.roles.length > 1 ? r.roles.map((p) => `${p.role}: ${fmt(p.rssMB, 0)} MB, ${fmt(p.cpuUsPerReq, 0)} us/req`).join('; ') : r.roles[0]?.role ?? '',
      r.tool === 'h2load' ? `h2load: mean ${fmt(r.load.meanMs, 2)} ms (no percentiles)` : '',
      r.load.errors ? `**${r.load.errors} errors**` : '',
    ].filter(Boolean).join('; ');
    lines.push(`| ${r.scenario} | ${r.impl} | ${r.workers} | ${fmt(r.load.rps, 0)} | ${fmt(r.load.p50, 2)} | ${fmt(r.load.p99, 2)} | ${vsDirect} | ${vsBest} | ${fmt(r.rssMB, 0)} | ${fmt(r.cpuUsPerReq, 0)} | ${notes} |`);
  }
  return lines;
}

function controlPlaneSummary(): string[] {
  const dir = join(ROOT, 'bench', 'results');
  const latest = readdirSync(dir).filter((f) => /^controlplane-.*\.md$/.test(f)).map((f) => join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!latest) return [];
  const keep = /^\| (translate: gateway \| 1000|translate: sidecar \| 1000|Snapshot \(proto encode\): sidecar \| 1000|change: translate|bytes: one changed|fan-out: change ACKed by all \| N=1000|delta fan-out: change ACKed by all)/;
  const body = readFileSync(latest, 'utf8').split('\n');
  return ['', `## Control plane (from ${latest.slice(ROOT.length + 1)}, selected rows)`, '', body.find((l) => l.startsWith('| scenario')) ?? '', '|---|---|---|---|---|', ...body.filter((l) => keep.test(l))];
}

/** A run of some scenarios, gateways or an A/B or profiling run: its results stay out of bench/results. */
const PARTIAL = ['--only', '--impl', '--cpu-prof', '--isthmus-arg'].some((o) => argv.includes(o)) || process.env.ISTHMUS_BENCH_CLI !== undefined;

function write(): string {
  const date = new Date().toISOString();
  const dir = PARTIAL ? join(os.tmpdir(), 'isthmus-bench-results') : join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  // A second run on the same day gets its own file (the time of day appended).
  const day = join(dir, `dataplane-${date.slice(0, 10)}`);
  const base = existsSync(`${day}.md`) ? `${day}-${date.slice(11, 16).replace(':', '')}` : day;
  const md = [
    '# Data-plane benchmark: the seeds\' paths through Isthmus, nginx and HAProxy',
    '',
    `${date}, produced by \`npm run bench\` (bench/run.ts), one run, everything on 127.0.0.1.`,
    '',
    machine(),
    `- Load: wrk ${LOAD.threads} thread, ${LOAD.connections} keep-alive connections, ${LOAD.warmupS} s warm-up then ${LOAD.durationS} s measured with --latency (h2load for gRPC: same connections, 1 stream each).`,
    `- One process per role with 1 or N workers (column "workers"; runs: ${WORKERS.join(', ')}): nginx worker_processes N, HAProxy nbthread N, Isthmus`,
    '  --concurrency N (node:cluster workers sharing the listening sockets; the upstream nginx always has 1); "vs best peer" compares',
    '  rows with the same worker count; no access logs;',
    '  keep-alive upstream pools; the same ECDSA P-256 certificates from `isthmus ca` for all three. The load generator, upstream and',
    '  gateways share the machine\'s cores, so the numbers are ratios between peers measured minutes apart, not capacities.',
    '- peak RSS: VmHWM of the processes under test (both gateways in S1; east-west + VM proxy in S2; nginx master + worker summed).',
    '  CPU us/req: user + system CPU of those processes (and their workers) during the measured run, per request.',
    '- S2: the VM proxy is Isthmus in all three rows; only the east-west gateway changes. Its ALPN list is the seed\'s plus http/1.1,',
    '  which nginx needs to accept the handshake. "vs direct" for S1 and S2 is against S0 (TLS to the same nginx page).',
    '- node-floor (S1, a reference, not a peer): bench/node-floor.ts in both gateway roles, the least JavaScript a Node.js',
    '  HTTP/1.1 forwarder can run per request (raw net/tls sockets, no routing, validation or stats): what any gateway built on',
    '  Node.js can at best reach on this machine.',
    '',
    ...table(),
    ...controlPlaneSummary(),
    '',
  ].join('\n');
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.json`, `${JSON.stringify({ date, load: LOAD, rows: rows.map((r) => ({ ...r, load: { ...r.load, raw: undefined } })) }, null, 2)}\n`);
  return base;
}

// ─── Main ────────────────────────────────────────────────────────────────────────────────────────────

function cleanup(): void {
  for (const p of live) p.child.kill('SIGKILL');
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: run npm run build first`);
  await ensureTools();
  work = mkdtempSync(join(os.tmpdir(), 'isthmus-bench-'));
  if (CPU_PROF) mkdirSync(CPU_PROF, { recursive: true });
  console.log(`work directory ${work}; ${LOAD.warmupS} s warm-up + ${LOAD.durationS} s per run, ${LOAD.connections} connections`);
  const pki = await makePki();
  const [albPort, frontendPort] = [await freePort(), await freePort()];
  const alb = await nginx('nginx-alb', peers.nginxUpstream(work, 'nginx-alb', albPort, PAGE, pki.alb), [albPort]);
  const frontend = await nginx('nginx-frontend', peers.nginxUpstream(work, 'nginx-frontend', frontendPort, PAGE, pki.frontend, pki.vm.ca), [frontendPort]);
  try {
    if (ONLY.has('S0')) await s0(pki, albPort, alb);
    if (ONLY.has('S1')) await s1(pki, albPort);
    if (ONLY.has('S2')) await s2(pki, frontendPort);
    if (ONLY.has('S3')) await s3(pki);
  } finally {
    await stop(frontend);
    await stop(alb);
  }
  if (!argv.includes('--skip-controlplane')) {
    console.log('\ncontrol plane: bench/controlplane.ts (about 3 minutes, up to ~4 GB RSS)');
    const r = spawnSync(process.execPath, ['--expose-gc', CONTROLPLANE], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) console.error(`control-plane benchmark exited ${r.status}`);
  }
  const base = write();
  console.log(`\n${table().join('\n')}\n\nwritten: ${base}.{md,json}`);
  if (!argv.includes('--keep')) rmSync(work, { recursive: true, force: true });
}

process.on('SIGINT', () => { cleanup(); process.exit(130); });
process.on('exit', cleanup);
try {
  await main();
} catch (err) {
  console.error(`bench: ${(err as Error).message}`);
  cleanup();
  process.exitCode = 1;
}
