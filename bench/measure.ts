/**
 * Load generators and process accounting for the data-plane benchmark: wrk (HTTP/1.1, --latency) and h2load
 * (HTTP/2, gRPC) run as child processes and parsed; CPU time and peak RSS (VmHWM) read from /proc for a
 * process and its children (nginx master + workers).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface LoadResult {
  readonly rps: number;
  readonly requests: number;
  /** Milliseconds; NaN when the tool does not report them (h2load gives only mean and sd). */
  readonly p50: number;
  readonly p99: number;
  readonly meanMs: number;
  readonly errors: number;
  readonly raw: string;
}

export interface LoadOptions {
  readonly durationS: number;
  readonly warmupS: number;
  readonly connections: number;
  readonly threads: number;
}

export function run(cmd: string, args: readonly string[], opts: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function toMs(value: string, unit: string): number {
  const v = Number(value);
  switch (unit) {
    case 'us': return v / 1000;
    case 'ms': return v;
    case 's': return v * 1000;
    case 'm': return v * 60_000;
    default: return NaN;
  }
}

export function parseWrk(out: string): LoadResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const pct = (p: string): number => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s|m)\\b`).exec(out);
    return m ? toMs(m[1]!, m[2]!) : NaN;
  };
  const mean = /Latency\s+([\d.]+)(us|ms|s|m)\s/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps, requests, p50: pct('50'), p99: pct('99'), meanMs: mean ? toMs(mean[1]!, mean[2]!) : NaN, errors, raw: out };
}

/** wrk: a warm-up run (discarded), then the measured run with --latency. */
export async function wrk(url: string, headers: readonly string[], o: LoadOptions, during?: { start(): void; stop(): void }): Promise<LoadResult> {
  const common = ['-t', String(o.threads), '-c', String(o.connections), ...headers.flatMap((h) => ['-H', h])];
  if (o.warmupS > 0) await run('wrk', [...common, '-d', `${o.warmupS}s`, url]);
  during?.start();
  const res = await run('wrk', [...common, '-d', `${o.durationS}s`, '--latency', url]);
  during?.stop();
  if (res.code !== 0) throw new Error(`wrk ${url} exited ${res.code}: ${res.stderr || res.stdout}`);
  return parseWrk(res.stdout);
}

export function parseH2load(out: string): LoadResult {
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const mean = /time for request:\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)/.exec(out);
  return {
    rps,
    requests: Number(req?.[3] ?? NaN),
    p50: NaN,
    p99: NaN,
    meanMs: mean ? toMs(mean[1]!, mean[2]!) : NaN,
    errors: Number(req?.[5] ?? 0) + Number(req?.[6] ?? 0),
    raw: out,
  };
}

/** h2load with a fixed duration and warm-up (one stream per connection, as wrk's one request per connection). */
export async function h2load(url: string, headers: readonly string[], dataFile: string | undefined, o: LoadOptions, during?: { start(): void; stop(): void }): Promise<LoadResult> {
  const args = ['-t', String(o.threads), '-c', String(o.connections), '-m', '1', '-D', String(o.durationS), `--warm-up-time=${o.warmupS}`,
    ...headers.flatMap((h) => ['-H', h]), ...(dataFile ? ['-d', dataFile] : []), url];
  during?.start();
  const res = await run('h2load', args);
  during?.stop();
  if (res.code !== 0) throw new Error(`h2load ${url} exited ${res.code}: ${res.stderr || res.stdout}`);
  return parseH2load(res.stdout);
}

// ─── /proc ───────────────────────────────────────────────────────────────────────────────────────────

/** The process and its descendants (nginx: master and workers). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const children = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim();
      if (children) out.push(...children.split(/\s+/).map(Number));
    } catch { /* gone */ }
  }
  return out;
}

/** Peak resident set (VmHWM) in MB, summed over the processes. */
export function peakRssMB(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kb += Number(m?.[1] ?? 0);
    } catch { /* gone */ }
  }
  return kb / 1024;
}

const TICKS_PER_S = 100; // USER_HZ on Linux

/** User + system CPU seconds consumed so far, summed over the processes. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    } catch { /* gone */ }
  }
  return ticks / TICKS_PER_S;
}
