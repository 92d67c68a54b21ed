/**
 * Where a mesh installed on this machine keeps its state: $ISTHMUS_HOME/meshes/<context>/ (or
 * --state-dir). Everything install, the supervisor and the processes write stays under it.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function isthmusHome(): string {
  return resolve(process.env['ISTHMUS_HOME'] || join(homedir(), '.isthmus'));
}

export function meshesDir(): string {
  return join(isthmusHome(), 'meshes');
}

export function meshDirOf(context: string, stateDir?: string): string {
  return stateDir ? resolve(stateDir) : join(meshesDir(), context);
}

/** The files of one mesh's state dir. */
export function meshFiles(dir: string) {
  return {
    dir,
    mesh: join(dir, 'mesh.json'),
    operators: join(dir, 'operators'),
    desired: join(dir, 'desired.json'),
    status: join(dir, 'status.json'),
    applied: join(dir, 'applied.json'),
    supervisorPid: join(dir, 'supervisor.pid'),
    logs: join(dir, 'logs'),
    run: join(dir, 'run'),
    log: (process: string) => join(dir, 'logs', `${process}.log`),
    adminAddress: (process: string) => join(dir, 'run', `${process}.admin`),
    controlPlaneState: (revision: string) => join(dir, 'controlplane', revision || 'default'),
  };
}
export type MeshFiles = ReturnType<typeof meshFiles>;
