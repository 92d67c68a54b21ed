import { createHash } from 'node:crypto';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { IsthmusError } from '../../common/index.js';
import type { ConfigError, IstioResource } from '../../api/index.js';
import { loadText } from './validate.js';
import { describeRef, refKey, refOf } from './refs.js';

const CONFIG_FILE = /\.(ya?ml|json)$/i;

/** One file of the config dir: what it last parsed to without errors, and what is wrong with it now. */
interface FileState {
  readonly hash: string;
  readonly good: readonly IstioResource[];
  readonly errors: readonly ConfigError[];
  /** Problems that did not refuse the file: kinds Isthmus ignores, deprecated forms. */
  readonly warnings: readonly ConfigError[];
}

export interface DirResource {
  readonly resource: IstioResource;
  readonly path: string;
}

function isConfigFile(name: string): boolean {
  // Editors' swap and backup files (".x.swp", "x~", "#x#") are not config.
  return CONFIG_FILE.test(name) && !name.startsWith('.') && !name.startsWith('#');
}

async function listConfigFiles(dir: string): Promise<{ files: string[]; dirs: string[] }> {
  const files: string[] = [];
  const dirs: string[] = [dir];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (relative(dir, path).split('/').some((part) => part.startsWith('.'))) continue;
    if (entry.isDirectory()) dirs.push(path);
    else if (entry.isFile() && isConfigFile(entry.name)) files.push(path);
  }
  return { files: files.sort(), dirs };
}

function readFailed(path: string, err: unknown): ConfigError {
  return { severity: 'error', code: 'READ_FAILED', source: path, message: `cannot read ${path}: ${(err as Error).message}`, fix: 'check the file exists and is readable' };
}

function emptyFile(path: string): ConfigError {
  return { severity: 'warning', code: 'READ_FAILED', source: path, message: `${path} is empty; the resources it defined stay in effect`, fix: 'delete the file to remove its resources' };
}

/**
 * A directory of multi-document YAML/JSON files that people edit by hand. Each file is taken whole or
 * not at all: a file with any error keeps the resources it had at its last good version, and the error
 * is reported until the file is fixed.
 */
export class ConfigDirSource {
  readonly dir: string;
  private files = new Map<string, FileState>();
  private dirs: string[] = [];
  private watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  /** Set while watching: what a file-system event triggers (a debounced rescan). */
  private onEvent: (() => void) | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Re-reads the directory; re-parses only files whose bytes changed. Returns whether anything changed. */
  async scan(): Promise<boolean> {
    let listing: { files: string[]; dirs: string[] };
    try {
      if (!(await stat(this.dir)).isDirectory()) throw new Error('not a directory');
      listing = await listConfigFiles(this.dir);
    } catch (err) {
      throw new IsthmusError('ERR_STORE_CONFIG_DIR', `cannot read config dir ${this.dir}: ${(err as Error).message}`, {
        hint: 'create the directory, or pass --config-dir with an existing directory of YAML files',
        cause: err,
      });
    }
    let changed = false;
    const next = new Map<string, FileState>();
    for (const path of listing.files) {
      const previous = this.files.get(path);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        // Vanished between listing and reading: the next scan sees it gone.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        next.set(path, { hash: '', good: previous?.good ?? [], errors: [readFailed(path, err)], warnings: [] });
        changed ||= !previous || previous.errors.length === 0;
        continue;
      }
      const hash = createHash('sha256').update(text).digest('hex');
      if (previous && previous.hash === hash) {
        next.set(path, previous);
        continue;
      }
      // Saving in place truncates first: an empty file is most likely one being written, so it keeps
      // what it had (and is re-read on the next event) rather than dropping its resources for a moment.
      if (text.trim() === '' && previous && previous.good.length > 0) {
        next.set(path, { hash: '', good: previous.good, errors: [], warnings: [emptyFile(path)] });
        changed ||= previous.hash !== '';
        continue;
      }
      const loaded = loadText(text, path);
      const good = loaded.errors.length > 0 ? (previous?.good ?? []) : loaded.resources;
      next.set(path, { hash, good, errors: loaded.errors, warnings: loaded.warnings });
      changed = true;
    }
    changed ||= [...this.files.keys()].some((path) => !next.has(path));
    this.files = next;
    this.dirs = listing.dirs;
    // New subdirectories need watchers of their own.
    if (this.onEvent) this.watchDirs(listing.dirs);
    return changed;
  }

  /** The good resources of all files; when two files define one resource, the first path (sorted) wins. */
  resources(): { resources: DirResource[]; conflicts: ConfigError[] } {
    const byKey = new Map<string, DirResource>();
    const conflicts: ConfigError[] = [];
    for (const [path, file] of this.files) {
      for (const resource of file.good) {
        const ref = refOf(resource);
        const first = byKey.get(refKey(ref));
        if (first) {
          conflicts.push({
            severity: 'error', code: 'DUPLICATE', source: path, kind: ref.kind, name: ref.name, namespace: ref.namespace,
            resource: describeRef(ref), message: `is also defined in ${first.path}, which wins`,
            fix: 'define each resource in one file only',
          });
          continue;
        }
        byKey.set(refKey(ref), { resource, path });
      }
    }
    return { resources: [...byKey.values()], conflicts };
  }

  /** Current errors and warnings of the files (a file's last good resources stay in effect meanwhile). */
  problems(): ConfigError[] {
    return [...this.files.values()].flatMap((f) => [...f.errors, ...f.warnings]);
  }

  /**
   * Watches the directory tree; `onChange` runs after edits settle for `debounceMs` (editors write a
   * file in several steps: truncate, write, rename, chmod).
   */
  watch(onChange: () => void, debounceMs: number): void {
    const fire = () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        onChange();
      }, debounceMs);
    };
    this.onEvent = fire;
    this.watchDirs(this.dirs.length ? this.dirs : [this.dir]);
  }

  // One non-recursive watcher per directory: recursive fs.watch is not available everywhere.
  private watchDirs(dirs: string[]): void {
    const wanted = new Set(dirs);
    for (const [dir, watcher] of this.watchers) {
      if (!wanted.has(dir)) {
        watcher.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, () => this.onEvent?.());
        watcher.on('error', () => {
          // The directory went away; the next scan drops it.
          watcher.close();
          this.watchers.delete(dir);
          this.onEvent?.();
        });
        this.watchers.set(dir, watcher);
      } catch {
        // Removed between listing and watching: the parent's watcher fires for it.
      }
    }
  }

  close(): void {
    this.onEvent = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}
