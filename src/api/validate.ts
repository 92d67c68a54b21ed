/**
 * One parsed document -> a typed resource, or the reasons it is not one. Used by the YAML loader and by
 * anything that gets objects from elsewhere (a Kubernetes API server, a test).
 */
import { apiVersionsOf, lookupKind } from './kinds.js';
import { rememberLocator } from './locations.js';
import type { KindInfo } from './kinds.js';
import { formatPath } from './paths.js';
import type { FieldPath, Issue } from './paths.js';
import { validateSchema } from './schema.js';
import { semanticIssues } from './semantic/index.js';
import type { ConfigError, ConfigErrorCode, IgnoredResource, IstioResource, ObjectMeta, SourceLocation } from './types.js';

export interface DocumentContext {
  readonly source: string;
  /** 1-based document index. */
  readonly document?: number;
  /** Maps a field path to its line/column (the loader has the YAML tree; other callers may not). */
  readonly locate?: (path: FieldPath) => { line: number; column: number } | undefined;
}

export interface ObjectValidation {
  /** Present when the object is a valid resource of a kind Isthmus uses. */
  readonly resource?: IstioResource;
  /** Present when the object is of a kind Isthmus does not use. */
  readonly ignored?: IgnoredResource;
  readonly errors: ConfigError[];
  readonly warnings: ConfigError[];
}

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

export function describeResource(kind: string, name: string, namespace: string): string {
  return namespace ? `${kind} ${name}.${namespace}` : `${kind} ${name}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Builds a ConfigError without undefined members, so it serialises cleanly. */
export function makeConfigError(
  context: DocumentContext,
  subject: Subject,
  problem: { path?: FieldPath; message: string; fix?: string | undefined; code: ConfigErrorCode; severity?: 'error' | 'warning' },
): ConfigError {
  const location = problem.path ? context.locate?.(problem.path) : context.locate?.([]);
  const e: { -readonly [K in keyof ConfigError]: ConfigError[K] } = {
    severity: problem.severity ?? 'error',
    code: problem.code,
    source: context.source,
    message: problem.message,
  };
  if (context.document !== undefined) e.document = context.document;
  if (location) {
    e.line = location.line;
    e.column = location.column;
  }
  if (subject.kind) e.kind = subject.kind;
  if (subject.name) e.name = subject.name;
  if (subject.namespace !== undefined && subject.kind && subject.name) {
    e.namespace = subject.namespace;
    e.resource = describeResource(subject.kind, subject.name, subject.namespace);
  }
  if (problem.path && problem.path.length > 0) e.path = formatPath(problem.path);
  if (problem.fix) e.fix = problem.fix;
  return e;
}

function originOf(context: DocumentContext): SourceLocation {
  const at = context.locate?.([]);
  const origin: { -readonly [K in keyof SourceLocation]: SourceLocation[K] } = { source: context.source, document: context.document ?? 1 };
  if (at) {
    origin.line = at.line;
    origin.column = at.column;
  }
  return origin;
}

function buildResource(info: KindInfo, doc: Record<string, unknown>, metadata: ObjectMeta, origin: SourceLocation): IstioResource {
  const base = { apiVersion: doc['apiVersion'] as string, metadata, origin };
  switch (info.kind) {
    case 'Secret': {
      const secret: Record<string, unknown> = { ...base, kind: 'Secret' };
      for (const field of ['type', 'data', 'stringData'] as const) if (doc[field] !== undefined && doc[field] !== null) secret[field] = doc[field];
      return secret as unknown as IstioResource;
    }
    case 'Namespace':
      return { ...base, kind: 'Namespace' };
    default:
      // Schema validation has checked the spec's shape against the kind's schema.
      return { ...base, kind: info.kind, spec: isObject(doc['spec']) ? doc['spec'] : {} } as unknown as IstioResource;
  }
}

/** Validates one object (a parsed YAML/JSON document) as a config resource. */
export function validateObject(value: unknown, context: DocumentContext): ObjectValidation {
  const errors: ConfigError[] = [];
  const warnings: ConfigError[] = [];
  const fail = (subject: Subject, path: FieldPath, message: string, fix: string, code: ConfigErrorCode = 'INVALID_OBJECT'): ObjectValidation => {
    errors.push(makeConfigError(context, subject, { path, message, fix, code }));
    return { errors, warnings };
  };

  if (!isObject(value)) {
    return fail({}, [], `document is ${Array.isArray(value) ? 'a list' : typeof value}, not a Kubernetes-style object`, 'write an object with apiVersion, kind, metadata and spec');
  }
  const apiVersion = value['apiVersion'];
  const kind = value['kind'];
  if (typeof kind !== 'string' || kind === '') return fail({}, ['kind'], 'kind is required', 'add kind, e.g. kind: Gateway');
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    return fail({ kind }, ['apiVersion'], 'apiVersion is required', 'add apiVersion, e.g. apiVersion: networking.istio.io/v1beta1');
  }
  const metadata = isObject(value['metadata']) ? value['metadata'] : {};
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : '';
  const declaredNamespace = typeof metadata['namespace'] === 'string' ? metadata['namespace'] : '';

  const lookup = lookupKind(apiVersion, kind);
  if (lookup.status === 'ignored') {
    const ignored: IgnoredResource = { apiVersion, kind, name, namespace: declaredNamespace, origin: originOf(context), reason: lookup.reason };
    warnings.push(makeConfigError(context, { kind, name, namespace: declaredNamespace }, { message: lookup.reason, code: 'IGNORED_KIND', severity: 'warning' }));
    return { ignored, errors, warnings };
  }
  const info = lookup.info;
  const namespace = info.namespaced ? declaredNamespace || 'default' : '';
  const subject = { kind, name, namespace };
  if (lookup.status === 'unsupported-version') {
    return fail(subject, ['apiVersion'], `${kind} does not exist in ${apiVersion}`, `use one of ${apiVersionsOf(info).join(', ')}`, 'UNSUPPORTED_VERSION');
  }
  if (!name) return fail(subject, ['metadata', 'name'], 'metadata.name is required', 'add metadata: {name: ...}');

  const report = (issues: Issue[], code: ConfigErrorCode): void => {
    for (const i of issues) {
      const e = makeConfigError(context, subject, { path: i.path, message: i.message, fix: i.fix, code, severity: i.warning ? 'warning' : 'error' });
      (i.warning ? warnings : errors).push(e);
    }
  };
  report(validateSchema(info.kind, value), 'SCHEMA');
  // Semantic rules read typed fields; on a schema error their types cannot be trusted.
  if (errors.length > 0) return { errors, warnings };

  const meta = { ...metadata, name, namespace } as ObjectMeta;
  const resource = buildResource(info, value, meta, originOf(context));
  if (context.locate) rememberLocator(resource, context.locate);
  report(semanticIssues(resource), 'SEMANTIC');
  return errors.length > 0 ? { errors, warnings } : { resource, errors, warnings };
}

/** "file:line:col (document n): Kind name.ns: path: message" plus the fix on a second line. */
export function formatConfigError(e: ConfigError): string {
  let where = e.source;
  if (e.line !== undefined) where += `:${e.line}:${e.column ?? 1}`;
  if (e.document !== undefined) where += ` (document ${e.document})`;
  const parts = [where, e.severity, e.resource, e.path, e.message].filter((p): p is string => Boolean(p));
  return `${parts.join(': ')}${e.fix ? `\n  fix: ${e.fix}` : ''}`;
}
