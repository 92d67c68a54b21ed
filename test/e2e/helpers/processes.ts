import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { CLI } from '../../helpers/index.js';

/** A free port on 127.0.0.1, released before it is returned. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface StartedProcess {
  child: ChildProcess;
  match: RegExpExecArray;
  output: () => string;
}

/** `isthmus ARGS` as a long-running process; resolves once its output (stdout or stderr) matches `ready`. */
export function startProcess(args: readonly string[], ready: RegExp, timeoutMs = 15_000): Promise<StartedProcess> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready (${ready}): isthmus ${args.join(' ')}\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m, output: () => out });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before ready: isthmus ${args.join(' ')}\n${out}`));
    });
  });
}

/** Stops a process (SIGKILL after 5 s); nothing when it already exited. */
export async function stop(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

/** Retries `fn` until `ok` holds or the time is up; returns the last value for the assertion to report. */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 25_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * `15021:P,15090:Q` for --port-map: Istio's status and Prometheus listeners on free ports, so proxies
 * without their own --ip do not fight over 0.0.0.0:15021 when tests run side by side.
 */
export async function healthPortMap(): Promise<string> {
  return `15021:${await freePort()},15090:${await freePort()}`;
}

/** The admin URL a proxy wrote to its --admin-address-path file, once it is there (10 s at most). */
export async function adminAddress(file: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (!existsSync(file) || readFileSync(file, 'utf8').trim() === '') {
    if (Date.now() > deadline) throw new Error(`no admin address in ${file}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return `http://${readFileSync(file, 'utf8').trim()}`;
}

/** Whether a TCP connection to host:port is accepted. */
export function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
