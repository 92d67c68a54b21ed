/**
 * What both examples share: numbered steps with progress and timing, processes that are always
 * stopped (on success, failure or Ctrl-C), the isthmus CLI run as a user runs it, and a work
 * directory that is removed at the end.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The repository root (where package.json is), from dist/examples/... or examples/... alike. */
export const REPO_ROOT = (() => {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (package.json)');
    dir = up;
  }
  return dir;
})();

export const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');
export const EXAMPLES = join(REPO_ROOT, 'examples');

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A step that failed: the examples exit non-zero naming it. */
export class StepFailed extends Error {
  constructor(readonly step: string, message: string) {
    super(message);
  }
}

export interface ProcessHandle {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  log(): string;
  stop(): Promise<void>;
}

const color = process.stdout.isTTY ? { dim: '\x1b[2m', bold: '\x1b[1m', green: '\x1b[32m', red: '\x1b[31m', off: '\x1b[0m' } : { dim: '', bold: '', green: '', red: '', off: '' };

export class Scenario {
  readonly workDir: string;
  readonly logsDir: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly processes: ProcessHandle[] = [];
  private readonly cleanups: Array<() => Promise<void> | void> = [];
  private stepNumber = 0;
  private closed = false;
  /** What a step shows, printed under its "ok" line. */
  private shown: string[] | undefined;

  constructor(readonly title: string, private readonly totalSteps: number, options: { workDir?: string } = {}) {
    this.workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'isthmus-example-'));
    this.logsDir = join(this.workDir, 'logs');
    mkdirSync(this.logsDir, { recursive: true });
    // Contexts of this example only: the user's ~/.isthmus is left alone.
    this.env = { ...process.env, ISTHMUS_CONTEXTS: join(this.workDir, 'contexts.yaml') };
  }

  banner(): void {
    process.stdout.write(`\n${color.bold}${this.title}${color.off}\n${color.dim}work dir ${this.workDir}${color.off}\n\n`);
  }

  /** Runs one numbered step: "[n/N] title ... ok (12 ms)". A thrown error names the step. */
  async step<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.stepNumber += 1;
    process.stdout.write(`[${this.stepNumber}/${this.totalSteps}] ${title} ... `);
    const started = performance.now();
    this.shown = [];
    try {
      const result = await fn();
      process.stdout.write(`${color.green}ok${color.off} ${color.dim}(${Math.round(performance.now() - started)} ms)${color.off}\n`);
      return result;
    } catch (err) {
      process.stdout.write(`${color.red}FAILED${color.off}\n`);
      throw err instanceof StepFailed ? err : new StepFailed(title, (err as Error).message);
    } finally {
      for (const text of this.shown) process.stdout.write(text);
      this.shown = undefined;
    }
  }

  /** Prints a result under the current step, indented. */
  show(text: string): void {
    const body = text.replace(/\s+$/, '');
    if (!body) return;
    const indented = `${body.split('\n').map((l) => `      ${l}`).join('\n')}\n`;
    if (this.shown) this.shown.push(indented);
    else process.stdout.write(indented);
  }

  /** Runs a command to completion (the isthmus CLI, curl, openssl). */
  run(command: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { env: { ...this.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${command}: ${err.message}`));
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout, stderr });
      });
      child.stdin.end(options.input ?? '');
    });
  }

  /** `isthmus ARGS` as a user types it; a non-zero exit is an error unless allowFailure. */
  async isthmus(args: readonly string[], options: { input?: string; allowFailure?: boolean } = {}): Promise<RunResult> {
    const result = await this.run(process.execPath, [CLI, ...args], options.input === undefined ? {} : { input: options.input });
    if (result.code !== 0 && !options.allowFailure) {
      throw new Error(`isthmus ${args.join(' ')} exited ${result.code}:\n${result.stderr || result.stdout}`);
    }
    return result;
  }

  /**
   * Starts a long-running process (control plane, proxy, app) with its output in logs/NAME.log, and
   * waits until its output matches `ready`.
   */
  async start(name: string, command: string, args: readonly string[], ready: RegExp, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ProcessHandle & { match: RegExpExecArray }> {
    const logFile = join(this.logsDir, `${name}.log`);
    const out: WriteStream = createWriteStream(logFile);
    const child = spawn(command, args, { env: { ...this.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const handle: ProcessHandle = {
      name,
      child,
      logFile,
      log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : text),
      stop: () => stopProcess(child),
    };
    this.processes.push(handle);
    const match = await new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not become ready within ${(options.timeoutMs ?? 20_000) / 1000} s; its log: ${logFile}\n${tail(text)}`)), options.timeoutMs ?? 20_000);
      const onData = (d: Buffer) => {
        out.write(d);
        if (text.length < 1_000_000) text += d.toString();
        const m = ready.exec(text);
        if (m) {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          child.stderr?.off('data', onData);
          child.stdout?.on('data', (more: Buffer) => out.write(more));
          child.stderr?.on('data', (more: Buffer) => out.write(more));
          resolve(m);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code}) before it was ready; its log: ${logFile}\n${tail(text)}`));
      });
    });
    return { ...handle, match };
  }

  /** `isthmus ARGS` as a long-running process. */
  startIsthmus(name: string, args: readonly string[], ready: RegExp, options: { timeoutMs?: number } = {}): Promise<ProcessHandle & { match: RegExpExecArray }> {
    return this.start(name, process.execPath, [CLI, ...args], ready, options);
  }

  onCleanup(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  /** Stops every process (newest first) and removes the work dir unless `keep`. */
  async close(options: { keep?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of [...this.processes].reverse()) await p.stop();
    for (const fn of [...this.cleanups].reverse()) await fn();
    if (!options.keep) rmSync(this.workDir, { recursive: true, force: true });
  }
}

function tail(text: string, lines = 15): string {
  return text.split('\n').slice(-lines).join('\n');
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 4_000);
  await exited;
  clearTimeout(timer);
}

/** Retries `fn` until `ok` holds or the time is up; returns the last value. */
export async function eventually<T>(fn: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/**
 * Runs a scenario function as a program: exit 0 when every step passed, 1 naming the failed step;
 * processes and files are cleaned up on every path, Ctrl-C included.
 */
export async function runExample(scenario: Scenario, body: () => Promise<void>, options: { holdUntilInterrupted?: boolean } = {}): Promise<void> {
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    process.stdout.write('\nstopping: every process of the example is being stopped and its files removed\n');
    void scenario.close().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  scenario.banner();
  try {
    await body();
    if (options.holdUntilInterrupted && !interrupted) {
      process.stdout.write(`\n${color.bold}everything is running.${color.off} Try the commands above; Ctrl-C stops it all and cleans up.\n`);
      await new Promise<void>(() => undefined);
    }
    await scenario.close();
    process.stdout.write(`\n${color.green}${scenario.title}: every check passed${color.off}\n`);
  } catch (err) {
    const step = err instanceof StepFailed ? err.step : 'setup';
    process.stderr.write(`\n${color.red}${scenario.title}: step "${step}" failed${color.off}\n${(err as Error).message}\n`);
    const keep = process.env['ISTHMUS_EXAMPLE_KEEP'] === '1';
    if (keep) process.stderr.write(`logs kept in ${scenario.logsDir}\n`);
    await scenario.close({ keep });
    process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
