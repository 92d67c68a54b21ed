import { open, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { IsthmusError, writeFileAtomic } from '../../common/index.js';
import type { IstioResource } from '../../api/index.js';

/** Format marker, so a future layout can be told apart and migrated. */
const FORMAT = 'isthmus.io/config-store/v1';
const FILE = 'resources.json';
// writeFileAtomic's temporary files: ".<12 hex>.tmp" next to the target.
const TEMP_FILE = /^\.[0-9a-f]{12}\.tmp$/;

export interface PersistedResource {
  readonly resource: IstioResource;
  readonly resourceVersion: number;
  readonly creationTimestamp: string;
  readonly source: string;
}

export interface PersistedState {
  readonly revision: number;
  readonly resources: readonly PersistedResource[];
}

/** The file the store persists into; the store owns its directory alone, so it may clean it up. */
export function stateFilePath(dir: string): string {
  return join(dir, FILE);
}

/**
 * Reads the persisted state. A crash mid-write can only leave a temporary file behind (the rename never
 * happened), so those are removed and the last completed write is what counts.
 */
export async function readState(dir: string): Promise<PersistedState> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  await Promise.all(names.filter((n) => TEMP_FILE.test(n)).map((n) => rm(join(dir, n), { force: true })));
  if (!names.includes(FILE)) return { revision: 0, resources: [] };
  const path = stateFilePath(dir);
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new IsthmusError('ERR_STORE_STATE', `${path} is not valid JSON: ${(err as Error).message}`, {
      hint: `restore it from a backup, or move it away to start with an empty store (it was not changed)`,
      cause: err,
    });
  }
  const state = doc as { format?: unknown; revision?: unknown; resources?: unknown };
  if (state.format !== FORMAT || typeof state.revision !== 'number' || !Array.isArray(state.resources)) {
    throw new IsthmusError('ERR_STORE_STATE', `${path} is not an Isthmus config store file (format ${FORMAT})`, {
      hint: 'point --state-dir at the directory the control plane wrote, or move the file away',
    });
  }
  return { revision: state.revision, resources: state.resources as PersistedResource[] };
}

/** Writes the whole state atomically and durably: temp file, fsync, rename, fsync of the directory. */
export async function writeState(dir: string, state: PersistedState): Promise<void> {
  const text = `${JSON.stringify({ format: FORMAT, revision: state.revision, resources: state.resources }, null, 1)}\n`;
  // Secrets live here too (private keys), hence 0600.
  await writeFileAtomic(stateFilePath(dir), text, 0o600);
  // The rename is durable only once the directory entry is on disk.
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
