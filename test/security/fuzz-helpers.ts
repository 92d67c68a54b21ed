/**
 * Shared pieces of the property-based tests (fast-check): a fixed seed by default so a failure
 * reproduces (FUZZ_SEED overrides it, FUZZ_RUNS_SCALE multiplies the run counts), and a heap measurement after a
 * full garbage collection, for "bounded memory" properties.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import fc from 'fast-check';

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

/** Byte-level mutations: set, cut, insert and truncate, as a mutational fuzzer would. */
export type Mutation = { kind: 'set'; at: number; byte: number } | { kind: 'cut'; at: number; length: number } | { kind: 'insert'; at: number; bytes: Uint8Array } | { kind: 'truncate'; at: number };

/** Mutations whose cut and inserted spans are at most `maxSpan` bytes. */
export function byteMutation(maxSpan: number): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), length: fc.integer({ min: 1, max: maxSpan }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: maxSpan }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  );
}

export function mutate(input: Buffer, mutations: readonly Mutation[]): Buffer {
  let b = input;
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.kind === 'set') {
      b = Buffer.from(b);
      if (b.length > 0) b[at] = m.byte;
    } else if (m.kind === 'cut') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    else b = b.subarray(0, at);
  }
  return b;
}
