/**
 * Talking to a mesh's supervisor from the CLI: hand it a desired set (desired.json + SIGHUP, or start
 * it detached), wait until it runs the set, stop it. A pid is only signalled after /proc shows it is
 * this mesh's supervisor (or one of its processes), never by name.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { IsthmusError } from '../common/index.js';
import type { MeshFiles } from './layout.js';
import type { ProcessSpec } from './plan.js';
import { readDesired, readStatus, writeDesired } from './state.js';
import type { ProcessStatus, SupervisorStatus } from './state.js';

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** The running supervisor's pid, if there is one for this mesh dir. */
export function supervisorPid(files: MeshFiles): number | undefined {
  if (!existsSync(files.supervisorPid)) return undefined;
  const pid = Number(readFileSync(files.supervisorPid, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return undefined;
  const cmd = cmdline(pid);
  return cmd.includes('__supervise') && cmd.includes(files.dir) ? pid : undefined;
}

/** A process of the status file that still runs with that mesh's address in its arguments. */
export function processAlive(p: ProcessStatus): boolean {
  return p.pid !== null && pidAlive(p.pid) && cmdline(p.pid).includes(p.address);
}

export function startSupervisor(files: MeshFiles, cliPath: string): number {
  mkdirSync(files.logs, { recursive: true });
  const fd = openSync(files.log('supervisor'), 'a');
  try {
    // Its own session: it outlives this command and a Ctrl-C in the terminal.
    const child = spawn(process.execPath, [cliPath, '__supervise', '--state-dir', files.dir], { detached: true, stdio: ['ignore', fd, fd], env: process.env });
    child.unref();
    if (child.pid === undefined) throw new IsthmusError('ERR_SUPERVISOR', 'cannot start the supervisor', { hint: `see ${files.log('supervisor')}` });
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Writes the desired set and makes the supervisor act on it; returns the generation to wait for. */
export async function handOff(files: MeshFiles, processes: readonly ProcessSpec[], cliPath: string): Promise<{ generation: number; supervisor: number; started: boolean }> {
  const generation = (readDesired(files)?.generation ?? 0) + 1;
  await writeDesired(files, { generation, processes });
  const running = supervisorPid(files);
  if (running !== undefined) {
    process.kill(running, 'SIGHUP');
    return { generation, supervisor: running, started: false };
  }
  return { generation, supervisor: startSupervisor(files, cliPath), started: true };
}

export interface WaitProgress {
  (process: ProcessStatus, previous: ProcessStatus | undefined): void;
}

/** Waits until the supervisor acted on `generation` and every named process is running. */
export async function waitForProcesses(files: MeshFiles, generation: number, names: readonly string[], onChange: WaitProgress, timeoutMs = 60_000): Promise<SupervisorStatus> {
  const deadline = Date.now() + timeoutMs;
  const seen = new Map<string, ProcessStatus>();
  for (;;) {
    const status = readStatus(files);
    if (status && status.generation >= generation) {
      for (const p of status.processes) {
        const before = seen.get(p.name);
        if (!before || before.state !== p.state || before.pid !== p.pid) onChange(p, before);
        seen.set(p.name, p);
      }
      const missing = names.filter((n) => status.processes.find((p) => p.name === n)?.state !== 'running');
      if (missing.length === 0) return status;
      if (Date.now() > deadline) {
        throw new IsthmusError('ERR_INSTALL_TIMEOUT', `not running after ${timeoutMs / 1000} s: ${missing.join(', ')}`, {
          hint: `see their logs: ${missing.map((n) => files.log(n)).join(', ')} (and ${files.log('supervisor')})`,
        });
      }
    } else if (Date.now() > deadline) {
      throw new IsthmusError('ERR_SUPERVISOR', `the supervisor did not take the new install within ${timeoutMs / 1000} s`, { hint: `see ${files.log('supervisor')}` });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Stops the supervisor and every process of the mesh; processes left behind by a supervisor that was
 * killed are stopped by pid (after checking that pid is still theirs).
 */
export async function stopMesh(files: MeshFiles, timeoutMs = 20_000): Promise<{ stopped: string[] }> {
  const status = readStatus(files);
  const stopped: string[] = [];
  const pid = supervisorPid(files);
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  for (const p of status?.processes ?? []) {
    if (p.pid !== null && processAlive(p)) {
      process.kill(p.pid, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (pidAlive(p.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (pidAlive(p.pid)) process.kill(p.pid, 'SIGKILL');
    }
    stopped.push(p.name);
  }
  return { stopped };
}
