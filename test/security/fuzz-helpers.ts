/**
 * Shared pieces of the property-based tests (fast-check): a fixed seed by default so a failure
 * reproduces (FUZZ_SEED overrides it, FUZZ_RUNS_SCALE multiplies the run counts), and a heap measurement after a
 * full garbage collection, for "bounded memory" properties.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import type fc from 'fast-check';

const seedFromEnv = Number(process.env['FUZZ_SEED']);
const scale = Number(process.env['FUZZ_RUNS_SCALE'] ?? '1');

/** fast-check parameters: `runs` scaled by FUZZ_RUNS_SCALE, seed from FUZZ_SEED when set. */
export function params<T>(runs: number, extra: fc.Parameters<T> = {}): fc.Parameters<T> {
  return {
    numRuns: Math.max(1, Math.round(runs * (Number.isFinite(scale) && scale > 0 ? scale : 1))),
    ...(Number.isFinite(seedFromEnv) ? { seed: seedFromEnv } : {}),
    ...extra,
  };
}

let gc: (() => void) | undefined;

/** A full GC without starting node with --expose-gc: the flag is set at run time, gc read from a fresh context. */
function collect(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** Heap in use after a full collection. */
export function heapUsedAfterGc(): number {
  collect();
  collect();
  return process.memoryUsage().heapUsed;
}

/** Runs `work` and returns how much the retained heap grew (bytes), measured after full collections. */
export async function retainedGrowth(work: () => void | Promise<void>): Promise<number> {
  const before = heapUsedAfterGc();
  await work();
  return heapUsedAfterGc() - before;
}

export const MiB = 1024 * 1024;
