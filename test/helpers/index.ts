// Shared helpers for tests that drive real processes (openssl, curl, the built CLI) and real sockets.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseCertificates, toPem } from '../../src/pki/index.js';
import type { Certificate } from '../../src/pki/index.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never rejects on a non-zero exit (tests assert on it). */
export function run(
  command: string,
  args: readonly string[],
  options: { input?: string; cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? PROJECT_ROOT, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // the child may exit before reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** Runs the built CLI (dist/cli/main.js) the way a user would: `node dist/cli/main.js ...`. */
export function isthmus(args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(process.execPath, [CLI, ...args], options);
}

export function openssl(args: readonly string[], options: { input?: string; cwd?: string } = {}): Promise<RunResult> {
  return run('openssl', args, options);
}

/** A long-running child process that the test must stop. */
export interface Background {
  readonly child: ChildProcess;
  /** The match of the readiness pattern. */
  readonly ready: RegExpMatchArray;
  output(): string;
  /** SIGTERM (SIGKILL after 3 s); resolves with how the child ended. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a child process and waits until its stdout or stderr matches `ready` (e.g. a "listening on
 * 127.0.0.1:PORT" line that tells the port the child chose). The child is killed if it never gets ready.
 */
export function startBackground(command: string, args: readonly string[], ready: RegExp, options: { cwd?: string; timeoutMs?: number } = {}): Promise<Background> {
  const child = spawn(command, args, { cwd: options.cwd ?? PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => {
    exited = { code, signal };
    done(exited);
  }));
  const stop = async (): Promise<{ code: number | null; signal: NodeJS.Signals | null }> => {
    if (exited) return exited;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    const result = await exit;
    clearTimeout(killer);
    return result;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop().then(() => reject(new Error(`${command} did not become ready (${ready}) in time; output:\n${output}`)));
    }, options.timeoutMs ?? 15_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, ready: match, output: () => output, stop });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (code ${code}, signal ${signal}) before it was ready; output:\n${output}`));
    });
  });
}

/** A fresh directory under os.tmpdir(); `cleanup` removes it. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `isthmus-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function writePem(dir: string, name: string, certs: readonly Certificate[] | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof certs === 'string' ? certs : toPem(certs));
  return path;
}

/** The certificate chain a TLS peer sent (leaf first), as pki Certificates. */
export function peerChain(socket: TLSSocket): Certificate[] {
  const chain: Certificate[] = [];
  const seen = new Set<string>();
  for (let c = socket.getPeerCertificate(true); c?.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    chain.push(parseCertificates(`-----BEGIN CERTIFICATE-----\n${c.raw.toString('base64')}\n-----END CERTIFICATE-----\n`)[0] as Certificate);
  }
  return chain;
}

/**
 * A CSR made by openssl (not by the library), with a fresh P-256 key. `ca` asks for a CA certificate,
 * as a caller trying to become a CA would: with basicConstraints=critical,CA:TRUE, or only with the
 * keyCertSign key usage.
 */
export async function opensslCsr(dir: string, options: { uris?: string[]; dnsNames?: string[]; ca?: 'basicConstraints' | 'keyCertSign'; name?: string }): Promise<{ csrPem: string; keyPath: string }> {
  const name = options.name ?? `csr-${Math.random().toString(36).slice(2)}`;
  const keyPath = join(dir, `${name}.key`);
  const csrPath = join(dir, `${name}.csr`);
  const sans = [...(options.uris ?? []).map((u) => `URI:${u}`), ...(options.dnsNames ?? []).map((d) => `DNS:${d}`)];
  const args = ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', csrPath, '-subj', '/O=isthmus-test'];
  if (sans.length) args.push('-addext', `subjectAltName=${sans.join(',')}`);
  if (options.ca === 'basicConstraints') args.push('-addext', 'basicConstraints=critical,CA:TRUE');
  if (options.ca === 'keyCertSign') args.push('-addext', 'keyUsage=critical,digitalSignature,keyCertSign');
  const result = await openssl(args);
  if (result.code !== 0) throw new Error(`openssl req failed: ${result.stderr}`);
  return { csrPem: await readFile(csrPath, 'utf8'), keyPath };
}
