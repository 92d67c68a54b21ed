/**
 * The supervisor of one mesh (`isthmus __supervise --state-dir DIR`, started detached by install): runs
 * every process of the desired set as a child (`isthmus controlplane` / `isthmus proxy`), restarts one
 * that exits with exponential back-off (and says so in its log), and keeps status.json current (pid,
 * address, ports, start time, restarts, state). SIGHUP re-reads desired.json and converges: processes
 * that left the set or whose arguments changed are stopped, new ones started, the rest left alone.
 * SIGTERM stops everything and removes the supervisor's files.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { writeFileAtomic } from '../common/index.js';
import { meshFiles } from './layout.js';
import type { MeshFiles } from './layout.js';
import { sameProcess } from './plan.js';
import type { ProcessSpec } from './plan.js';
import { readDesired } from './state.js';
import type { ProcessState, ProcessStatus, SupervisorStatus } from './state.js';

const BACKOFF_START_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/** A process that ran this long before exiting starts its back-off over. */
const HEALTHY_RUN_MS = 30_000;
const STOP_GRACE_MS = 8_000;
const PROBE_INTERVAL_MS = 300;

interface Managed {
  spec: ProcessSpec;
  child: ChildProcess | undefined;
  state: ProcessState;
  startedAt: number | undefined;
  restarts: number;
  /** Consecutive quick failures, for the back-off. */
  failures: number;
  lastExit: string | undefined;
  timer: NodeJS.Timeout | undefined;
  wanted: boolean;
  exited: Promise<void> | undefined;
}

function tcpAccepts(address: string, timeoutMs = 500): Promise<boolean> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export class Supervisor {
  private readonly files: MeshFiles;
  private readonly managed = new Map<string, Managed>();
  private generation = 0;
  private queue: Promise<void> = Promise.resolve();
  private probeTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private statusWrite: Promise<void> = Promise.resolve();

  constructor(dir: string, private readonly cliPath: string) {
    this.files = meshFiles(dir);
  }

  private log(message: string): void {
    process.stdout.write(`${new Date().toISOString()} supervisor: ${message}\n`);
  }

  /** Runs until SIGTERM/SIGINT, or until the desired set is empty. */
  async run(): Promise<void> {
    mkdirSync(this.files.logs, { recursive: true });
    mkdirSync(this.files.run, { recursive: true });
    await writeFileAtomic(this.files.supervisorPid, `${process.pid}\n`);
    this.log(`started (pid ${process.pid}) for ${this.files.dir}`);
    const finished = new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        this.log(`${signal}: stopping every process`);
        this.enqueue(async () => {
          await this.shutdown();
          resolve();
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => {
        this.log('SIGHUP: reading the desired set');
        this.enqueue(() => this.converge(resolve));
      });
    });
    this.enqueue(() => this.converge(() => undefined));
    this.probeTimer = setInterval(() => void this.probe(), PROBE_INTERVAL_MS);
    await finished;
    clearInterval(this.probeTimer);
  }

  private enqueue(fn: () => Promise<void>): void {
    this.queue = this.queue.then(fn).catch((err: unknown) => this.log(`error: ${(err as Error).message}`));
  }

  private async converge(onEmpty: () => void): Promise<void> {
    if (this.stopping) return;
    const desired = readDesired(this.files);
    const specs = desired?.processes ?? [];
    const next = new Map(specs.map((s) => [s.name, s]));
    // Stop what left the set or changed, before starting anything on the same address.
    const stops: Array<Promise<void>> = [];
    for (const m of this.managed.values()) {
      const spec = next.get(m.spec.name);
      if (spec && sameProcess(spec, m.spec)) continue;
      this.log(`${m.spec.name}: ${spec ? 'arguments changed, restarting' : 'no longer installed, stopping'}`);
      stops.push(this.stopOne(m).then(() => {
        if (!spec) this.managed.delete(m.spec.name);
      }));
    }
    await Promise.all(stops);
    for (const spec of specs) {
      const m = this.managed.get(spec.name);
      if (m && m.wanted && sameProcess(spec, m.spec)) {
        m.spec = spec; // same arguments; descriptive fields may differ
        continue;
      }
      const fresh: Managed = m ?? { spec, child: undefined, state: 'stopped', startedAt: undefined, restarts: 0, failures: 0, lastExit: undefined, timer: undefined, wanted: true, exited: undefined };
      fresh.spec = spec;
      fresh.wanted = true;
      this.managed.set(spec.name, fresh);
      this.startOne(fresh);
    }
    this.generation = desired?.generation ?? this.generation;
    await this.writeStatus();
    if (specs.length === 0) {
      this.log('the desired set is empty: exiting');
      await this.shutdown();
      onEmpty();
    }
  }

  private startOne(m: Managed): void {
    m.timer = undefined;
    if (!m.wanted || this.stopping) return;
    if ('adminAddressFile' in m.spec.readiness) rmSync(m.spec.readiness.adminAddressFile, { force: true });
    const fd = openSync(this.files.log(m.spec.name), 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [this.cliPath, ...m.spec.args], { stdio: ['ignore', fd, fd], env: process.env });
    } finally {
      closeSync(fd);
    }
    m.child = child;
    m.state = 'starting';
    m.startedAt = Date.now();
    this.log(`${m.spec.name}: started (pid ${child.pid}) on ${m.spec.address} [${m.spec.ports}]`);
    m.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      this.onExit(m, child, code, signal);
      resolve();
    }));
    child.once('error', (err) => this.log(`${m.spec.name}: cannot start: ${err.message}`));
    void this.writeStatus();
  }

  private onExit(m: Managed, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (m.child !== child) return;
    const ranMs = Date.now() - (m.startedAt ?? Date.now());
    m.child = undefined;
    m.lastExit = `${signal ? `signal ${signal}` : `exit code ${code}`} at ${new Date().toISOString()}`;
    if (!m.wanted || this.stopping) {
      m.state = 'stopped';
      void this.writeStatus();
      return;
    }
    m.failures = ranMs >= HEALTHY_RUN_MS ? 1 : m.failures + 1;
    const delay = Math.min(BACKOFF_START_MS * 2 ** (m.failures - 1), BACKOFF_MAX_MS);
    m.restarts += 1;
    m.state = 'backoff';
    this.log(`${m.spec.name}: exited (${signal ? `signal ${signal}` : `code ${code}`}) after ${Math.round(ranMs / 1000)} s; restarting in ${delay / 1000} s (restart ${m.restarts}); its log: ${this.files.log(m.spec.name)}`);
    m.timer = setTimeout(() => this.startOne(m), delay);
    void this.writeStatus();
  }

  private async stopOne(m: Managed): Promise<void> {
    m.wanted = false;
    if (m.timer) clearTimeout(m.timer);
    m.timer = undefined;
    const child = m.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      m.state = 'stopped';
      return;
    }
    m.state = 'stopping';
    void this.writeStatus();
    child.kill('SIGTERM');
    const killer = setTimeout(() => {
      this.log(`${m.spec.name}: still running ${STOP_GRACE_MS / 1000} s after SIGTERM; SIGKILL`);
      child.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await m.exited;
    clearTimeout(killer);
    m.state = 'stopped';
    this.log(`${m.spec.name}: stopped`);
  }

  private async probe(): Promise<void> {
    for (const m of this.managed.values()) {
      if (m.state !== 'starting' || !m.child) continue;
      let ok = false;
      if ('tcp' in m.spec.readiness) ok = await tcpAccepts(m.spec.readiness.tcp);
      else if (existsSync(m.spec.readiness.adminAddressFile)) {
        const admin = readFileSync(m.spec.readiness.adminAddressFile, 'utf8').trim().replace(/^0\.0\.0\.0:/, '127.0.0.1:');
        ok = await tcpAccepts(admin);
      }
      if (ok && m.state === 'starting') {
        m.state = 'running';
        this.log(`${m.spec.name}: running`);
        await this.writeStatus();
      }
    }
  }

  private async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await Promise.all([...this.managed.values()].map((m) => this.stopOne(m)));
    await this.statusWrite;
    rmSync(this.files.status, { force: true });
    rmSync(this.files.supervisorPid, { force: true });
    rmSync(this.files.run, { recursive: true, force: true });
    this.log('every process stopped; exiting');
  }

  private writeStatus(): Promise<void> {
    const status: SupervisorStatus = {
      pid: process.pid,
      generation: this.generation,
      updatedAt: new Date().toISOString(),
      processes: [...this.managed.values()].map((m): ProcessStatus => ({
        name: m.spec.name, kind: m.spec.kind, revision: m.spec.revision, namespace: m.spec.namespace, pod: m.spec.pod, address: m.spec.address, ports: m.spec.ports,
        pid: m.child?.pid ?? null, state: m.state, startedAt: m.startedAt === undefined ? null : new Date(m.startedAt).toISOString(), restarts: m.restarts,
        ...(m.lastExit ? { lastExit: m.lastExit } : {}), log: this.files.log(m.spec.name),
      })),
    };
    // Serialized, so an older status never lands after a newer one.
    this.statusWrite = this.statusWrite.then(() => (this.stopping && !this.managed.size ? undefined : writeFileAtomic(this.files.status, `${JSON.stringify(status, null, 2)}\n`))).catch(() => undefined);
    return this.statusWrite;
  }
}
