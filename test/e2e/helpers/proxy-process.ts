import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '..', '..', '..', 'dist', 'cli', 'main.js');

export interface RunningProxy {
  readonly process: ChildProcess;
  readonly adminUrl: string;
  /** Actual port of a listener (by name, or by index in /listeners order). */
  listenerPort(nameOrIndex: string | number): number;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `isthmus proxy -c <yaml>` as a real process; resolves once its admin endpoint answers. */
export async function startProxy(dir: string, name: string, yaml: string, options: { env?: NodeJS.ProcessEnv } = {}): Promise<RunningProxy> {
  const config = join(dir, `${name}.yaml`);
  const addressFile = join(dir, `${name}.admin`);
  writeFileSync(config, yaml);
  const child = spawn(process.execPath, [CLI, 'proxy', '-c', config, '--admin-address-path', addressFile, '-l', process.env.ISTHMUS_TEST_LOG ?? 'info', '--drain-time-s', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env ? { env: options.env } : {}),
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  const address = await waitFor(`${name} admin address`, () => {
    if (exited) throw new Error(`${name} proxy exited early:\n${out}`);
    return existsSync(addressFile) ? readFileSync(addressFile, 'utf8').trim() || undefined : undefined;
  });
  const adminUrl = `http://${address}`;
  const listeners = (await (await fetch(`${adminUrl}/listeners?format=json`)).json()) as unknown;
  const ports = parseListenerPorts(listeners);
  return {
    process: child,
    adminUrl,
    listenerPort(nameOrIndex) {
      const entry = typeof nameOrIndex === 'number' ? ports[nameOrIndex] : ports.find((p) => p.name === nameOrIndex);
      if (!entry) throw new Error(`no listener ${String(nameOrIndex)} in ${JSON.stringify(listeners)}`);
      return entry.port;
    },
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (exited) return child.exitCode;
      const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await done;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Accepts Envoy's /listeners?format=json shape and a plain [{name, address}] list. */
function parseListenerPorts(body: unknown): Array<{ name: string; port: number }> {
  const list = Array.isArray(body) ? body : ((body as { listener_statuses?: unknown[] }).listener_statuses ?? []);
  return list.map((entry) => {
    const e = entry as { name: string; address?: string; local_address?: { socket_address?: { port_value?: number } } };
    const port = e.local_address?.socket_address?.port_value ?? Number(String(e.address ?? '').split(':').pop());
    return { name: e.name, port };
  });
}

export function writeText(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
