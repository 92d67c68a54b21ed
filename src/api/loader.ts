/**
 * Loads config from multi-document YAML (or JSON) text and from files/directories, as `kubectl apply -f`
 * and `istioctl analyze` read them: every document is checked on its own, a bad document never stops the
 * others, and each problem says file, document, line and field.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Document, Node } from 'yaml';
import { errorMessage } from '../common/index.js';
import type { FieldPath } from './paths.js';
import type { ConfigError, IgnoredResource, IstioResource, LoadResult } from './types.js';
import { describeResource, makeConfigError, validateObject } from './validate.js';

type Position = { line: number; column: number };

/** Finds the line/column of the deepest node on `path` that exists (the key, for map entries). */
function locator(doc: Document, lines: LineCounter, base: FieldPath): (path: FieldPath) => Position | undefined {
  return (path) => {
    let node: unknown = doc.contents;
    let offset = (doc.contents as Node | null)?.range?.[0];
    for (const segment of [...base, ...path]) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        offset = (pair.key as Node).range?.[0] ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
        node = node.items[segment];
        offset = (node as Node).range?.[0] ?? offset;
      } else break;
    }
    if (offset === undefined) return undefined;
    const pos = lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A document may hold one object, a `kind: List` (kubectl get -o yaml) or, in JSON, an array. */
function expand(value: unknown): Array<{ value: unknown; base: FieldPath }> {
  if (Array.isArray(value)) return value.map((v, i) => ({ value: v, base: [i] }));
  if (isObject(value) && value['kind'] === 'List' && Array.isArray(value['items'])) {
    return (value['items'] as unknown[]).map((v, i) => ({ value: v, base: ['items', i] }));
  }
  return [{ value, base: [] }];
}

interface Accumulator {
  resources: IstioResource[];
  errors: ConfigError[];
  warnings: ConfigError[];
  ignored: IgnoredResource[];
}

function empty(): Accumulator {
  return { resources: [], errors: [], warnings: [], ignored: [] };
}

function addObject(acc: Accumulator, value: unknown, source: string, document: number, locate?: (path: FieldPath) => Position | undefined): void {
  const result = validateObject(value, locate ? { source, document, locate } : { source, document });
  acc.errors.push(...result.errors);
  acc.warnings.push(...result.warnings);
  if (result.resource) acc.resources.push(result.resource);
  if (result.ignored) acc.ignored.push(result.ignored);
}

/** Text that YAML rejects but JSON accepts is still config (YAML forbids some JSON whitespace). */
function parseAsJson(text: string): unknown {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function loadInto(acc: Accumulator, text: string, source: string): void {
  const lines = new LineCounter();
  // Merge keys (<<: *base) as kubectl's YAML reader accepts them.
  const parsed = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, merge: true });
  const docs = Array.isArray(parsed) ? parsed : [];
  if (docs.some((d) => d.errors.length > 0)) {
    const json = parseAsJson(text);
    if (json !== undefined) {
      for (const item of expand(json)) addObject(acc, item.value, source, 1);
      return;
    }
  }
  docs.forEach((doc, i) => {
    const document = i + 1;
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const pos = lines.linePos(err.pos[0]);
        acc.errors.push(
          makeConfigError({ source, document, locate: () => ({ line: pos.line, column: pos.col }) }, {}, {
            path: [],
            message: `YAML syntax error: ${err.message}`,
            fix: 'fix the YAML at this line (indentation, a missing ":" or an unclosed bracket or quote)',
            code: 'YAML_SYNTAX',
          }),
        );
      }
      return;
    }
    for (const warning of doc.warnings) {
      const pos = lines.linePos(warning.pos[0]);
      acc.warnings.push(makeConfigError({ source, document, locate: () => ({ line: pos.line, column: pos.col }) }, {}, { message: warning.message, code: 'YAML_SYNTAX', severity: 'warning' }));
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // toJS refuses alias bombs ("billion laughs") and similar; that is bad input, not a crash.
      acc.errors.push(makeConfigError({ source, document }, {}, { message: `YAML cannot be read: ${errorMessage(err)}`, fix: 'remove the excessive aliases (*name) from this document', code: 'YAML_SYNTAX' }));
      return;
    }
    if (value === null || value === undefined) return; // "---" separators and comment-only documents
    for (const item of expand(value)) addObject(acc, item.value, source, document, locator(doc, lines, item.base));
  });
}

function resourceKey(r: IstioResource): string {
  return `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;
}

function where(r: IstioResource): string {
  const o = r.origin;
  if (!o) return 'elsewhere';
  return `${o.source}${o.line !== undefined ? `:${o.line}` : ''} (document ${o.document})`;
}

/**
 * Checks that need the whole set: one resource per kind/namespace/name and at most one MeshConfig.
 * The first definition wins; later ones are rejected with an error naming the first.
 */
export function checkResourceSet(resources: readonly IstioResource[]): { resources: IstioResource[]; errors: ConfigError[] } {
  const kept: IstioResource[] = [];
  const errors: ConfigError[] = [];
  const seen = new Map<string, IstioResource>();
  let mesh: IstioResource | undefined;
  for (const r of resources) {
    const first = seen.get(resourceKey(r)) ?? (r.kind === 'MeshConfig' ? mesh : undefined);
    if (first) {
      const context = r.origin ? { source: r.origin.source, document: r.origin.document, locate: () => (r.origin?.line ? { line: r.origin.line, column: r.origin.column ?? 1 } : undefined) } : { source: '<config>' };
      const message = first.kind === r.kind && first.metadata.name === r.metadata.name
        ? `${describeResource(r.kind, r.metadata.name, r.metadata.namespace)} is already defined at ${where(first)}`
        : `only one MeshConfig is allowed; ${first.metadata.name} is defined at ${where(first)}`;
      errors.push(makeConfigError(context, { kind: r.kind, name: r.metadata.name, namespace: r.metadata.namespace }, { message, fix: 'remove or rename one of the two', code: 'DUPLICATE' }));
      continue;
    }
    seen.set(resourceKey(r), r);
    if (r.kind === 'MeshConfig') mesh = r;
    kept.push(r);
  }
  return { resources: kept, errors };
}

function finish(acc: Accumulator): LoadResult {
  const set = checkResourceSet(acc.resources);
  return { resources: set.resources, errors: [...acc.errors, ...set.errors], warnings: acc.warnings, ignored: acc.ignored };
}

/** Parses and validates multi-document YAML or JSON. Never throws for bad config. */
export function loadResources(text: string, source: string): LoadResult {
  const acc = empty();
  loadInto(acc, text, source);
  return finish(acc);
}

const CONFIG_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

async function collectFiles(path: string, recursive: boolean, explicit: boolean, out: string[], acc: Accumulator): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    acc.errors.push(makeConfigError({ source: path }, {}, { message: `cannot read: ${errorMessage(err)}`, fix: 'check the path', code: 'READ_FAILED' }));
    return;
  }
  if (info.isDirectory()) {
    if (!explicit && !recursive) return;
    const entries = (await readdir(path)).filter((e) => !e.startsWith('.')).sort();
    for (const entry of entries) await collectFiles(join(path, entry), recursive, false, out, acc);
  } else if (explicit || CONFIG_EXTENSIONS.has(extname(path).toLowerCase())) {
    out.push(path);
  }
}

/**
 * Reads files and directories (*.yaml, *.yml, *.json inside directories, recursively by default, in
 * name order) and loads them as one set. Unreadable paths are errors in the result, not exceptions.
 */
export async function loadResourceFiles(paths: readonly string[], options: { recursive?: boolean } = {}): Promise<LoadResult> {
  const acc = empty();
  const files: string[] = [];
  for (const path of paths) await collectFiles(path, options.recursive ?? true, true, files, acc);
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      acc.errors.push(makeConfigError({ source: file }, {}, { message: `cannot read: ${errorMessage(err)}`, fix: 'check the path and its permissions', code: 'READ_FAILED' }));
      continue;
    }
    loadInto(acc, text, file);
  }
  return finish(acc);
}
