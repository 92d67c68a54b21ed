/**
 * Installed state, as istioctl keeps it: each installed IstioOperator (keyed by metadata.name and
 * revision) as written, plus the desired process set handed to the supervisor and what the supervisor
 * reports back.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { resolveOperator } from '../api/index.js';
import type { OperatorInstall } from '../api/index.js';
import { writeFileAtomic } from '../common/index.js';
import type { MeshFiles } from './layout.js';
import type { ProcessSpec } from './plan.js';

export interface InstalledOperator {
  readonly name: string;
  readonly revision: string;
  readonly installedAt: string;
  /** The IstioOperator as the user wrote it. */
  readonly document: unknown;
}

function operatorFile(files: MeshFiles, name: string, revision: string): string {
  return join(files.operators, `${name}${revision ? `--${revision}` : ''}.json`);
}

export function readInstalledOperators(files: MeshFiles): InstalledOperator[] {
  if (!existsSync(files.operators)) return [];
  return readdirSync(files.operators)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => JSON.parse(readFileSync(join(files.operators, n), 'utf8')) as InstalledOperator)
    .sort((a, b) => a.installedAt.localeCompare(b.installedAt) || a.name.localeCompare(b.name));
}

export async function saveInstalledOperator(files: MeshFiles, op: InstalledOperator): Promise<void> {
  await writeFileAtomic(operatorFile(files, op.name, op.revision), `${JSON.stringify(op, null, 2)}\n`);
}

export function removeInstalledOperator(files: MeshFiles, name: string, revision: string): void {
  rmSync(operatorFile(files, name, revision), { force: true });
}

/** Resolves stored documents again (the reader may have learnt more since). */
export function resolveInstalled(ops: readonly InstalledOperator[]): OperatorInstall[] {
  return ops.map((op) => resolveOperator(op.document, { revision: op.revision }));
}

export interface DesiredState {
  readonly generation: number;
  readonly processes: readonly ProcessSpec[];
}

export type ProcessState = 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped';

export interface ProcessStatus {
  readonly name: string;
  readonly kind: ProcessSpec['kind'];
  readonly revision: string;
  readonly namespace: string;
  readonly pod: string;
  readonly address: string;
  readonly ports: string;
  readonly pid: number | null;
  readonly state: ProcessState;
  /** ISO time of the current (or last) start. */
  readonly startedAt: string | null;
  readonly restarts: number;
  readonly lastExit?: string;
  readonly log: string;
}

export interface SupervisorStatus {
  readonly pid: number;
  /** The desired generation the supervisor has acted on. */
  readonly generation: number;
  readonly updatedAt: string;
  readonly processes: readonly ProcessStatus[];
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function readDesired(files: MeshFiles): DesiredState | undefined {
  return readJson<DesiredState>(files.desired);
}

export async function writeDesired(files: MeshFiles, desired: DesiredState): Promise<void> {
  await writeFileAtomic(files.desired, `${JSON.stringify(desired, null, 2)}\n`);
}

export function readStatus(files: MeshFiles): SupervisorStatus | undefined {
  return readJson<SupervisorStatus>(files.status);
}

/** The resources last applied to each control plane (revision -> kind/namespace/name), to delete dropped ones. */
export function readApplied(files: MeshFiles): Record<string, string[]> {
  return readJson<Record<string, string[]>>(files.applied) ?? {};
}

export async function writeApplied(files: MeshFiles, applied: Record<string, string[]>): Promise<void> {
  await writeFileAtomic(files.applied, `${JSON.stringify(applied, null, 2)}\n`);
}
