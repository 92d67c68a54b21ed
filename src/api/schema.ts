/**
 * Schema validation with Istio's own OpenAPI schemas (the CRDs of Istio 1.18, as packaged by
 * @kubernetes-models/istio), mapped to field paths. All API versions of a kind share one proto, so each
 * kind is checked against its v1beta1 schema. Secret, Namespace and MeshConfig use schema-local.ts.
 */
import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule';
import { Gateway } from '@kubernetes-models/istio/networking.istio.io/v1beta1/Gateway';
import { ServiceEntry } from '@kubernetes-models/istio/networking.istio.io/v1beta1/ServiceEntry';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService';
import { WorkloadEntry } from '@kubernetes-models/istio/networking.istio.io/v1beta1/WorkloadEntry';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1beta1/AuthorizationPolicy';
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1beta1/PeerAuthentication';
import { unknownFieldIssues } from './schema-fields.js';
import type { JsonSchema } from './schema-fields.js';
import { localSchemaIssues } from './schema-local.js';
import type { FieldPath, Issue } from './paths.js';
import type { ResourceKind } from './types.js';

interface ModelInstance {
  validate(): void;
}
interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  new (data: object): ModelInstance;
}

/** The parts of an Ajv error object we read (Ajv runs with allErrors and verbose). */
interface SchemaErrorObject {
  readonly instancePath: string;
  readonly schemaPath: string;
  readonly keyword: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
  readonly schema?: unknown;
  readonly parentSchema?: JsonSchema;
  readonly data?: unknown;
}

const MODELS: Partial<Record<ResourceKind, ModelClass>> = {
  Gateway: Gateway as unknown as ModelClass,
  VirtualService: VirtualService as unknown as ModelClass,
  DestinationRule: DestinationRule as unknown as ModelClass,
  ServiceEntry: ServiceEntry as unknown as ModelClass,
  WorkloadEntry: WorkloadEntry as unknown as ModelClass,
  PeerAuthentication: PeerAuthentication as unknown as ModelClass,
  AuthorizationPolicy: AuthorizationPolicy as unknown as ModelClass,
};

const PROTOTYPE_KEYS = new Set(['constructor', '__proto__']);
/** Prefix of a renamed key; no YAML/JSON key a user writes starts with NUL in practice, and errors map it back. */
const RENAMED = '\u0000';

/**
 * A copy where keys named "constructor" or "__proto__" are renamed: the models copy fields onto
 * themselves (a "__proto__" field replaces their prototype) and check for plain objects through
 * `o.constructor` (which throws when it is null). Renamed, their values are still checked (e.g. as
 * entries of a map); pointerToPath gives errors their real names back.
 */
function renamePrototypeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(renamePrototypeKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [PROTOTYPE_KEYS.has(k) ? `${RENAMED}${k}` : k, renamePrototypeKeys(v)]));
}

function schemaErrors(model: ModelClass, doc: Record<string, unknown>): SchemaErrorObject[] {
  try {
    // The model's schema pins apiVersion to v1beta1; the spec is the same in every version.
    new model({ ...(renamePrototypeKeys(doc) as Record<string, unknown>), apiVersion: model.apiVersion, kind: model.kind }).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: unknown }).errors;
    if (Array.isArray(errors)) return errors as SchemaErrorObject[];
    throw err;
  }
}

const specSchemas = new Map<ResourceKind, JsonSchema | null>();

/**
 * The spec's schema, to find unknown fields (Ajv ignores them, kubectl's strict field validation does
 * not). The package keeps schemas private, so we ask the validator: a spec of the wrong type fails with
 * the spec schema attached to the error.
 */
function specSchema(kind: ResourceKind, model: ModelClass): JsonSchema | null {
  if (!specSchemas.has(kind)) {
    const probe = schemaErrors(model, { metadata: { name: 'probe' }, spec: 0 });
    const found = probe.find((e) => e.instancePath === '/spec' && e.keyword === 'type');
    specSchemas.set(kind, found?.parentSchema ?? null);
  }
  return specSchemas.get(kind) ?? null;
}

function pointerToPath(pointer: string, doc: unknown): (string | number)[] {
  const path: (string | number)[] = [];
  let node: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const escaped = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key = escaped.startsWith(RENAMED) && PROTOTYPE_KEYS.has(escaped.slice(1)) ? escaped.slice(1) : escaped;
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      path.push(Number(key));
      node = node[Number(key)];
    } else {
      path.push(key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return path;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Fields named by the `required` of each oneOf branch: the members of a proto oneof. */
function oneOfMembers(branches: unknown): string[] {
  if (!Array.isArray(branches)) return [];
  const names = new Set<string>();
  for (const branch of branches) {
    const required = (branch as { required?: unknown }).required;
    if (Array.isArray(required)) for (const r of required) if (typeof r === 'string') names.add(r);
  }
  return [...names];
}

const REFERENCE_FIX = 'check the field against the Istio API reference (https://istio.io/latest/docs/reference/config/)';

function mapError(e: SchemaErrorObject, doc: unknown): Issue {
  const path = pointerToPath(e.instancePath, doc);
  switch (e.keyword) {
    case 'required': {
      const field = String(e.params['missingProperty']);
      return { path: [...path, field], message: `required field "${field}" is missing`, fix: `add ${field}`, code: 'SCHEMA' };
    }
    case 'type': {
      const message = `must be ${String(e.params['type'])}, got ${describe(e.data)}`;
      const fix = typeof e.data === 'string' && (e.params['type'] === 'integer' || e.params['type'] === 'number')
        ? 'write the number without quotes'
        : `write ${String(e.params['type']) === 'array' ? 'a list' : String(e.params['type']) === 'object' ? 'a map of fields' : `a ${String(e.params['type'])}`} here`;
      return { path, message, fix, code: 'SCHEMA' };
    }
    case 'enum': {
      const allowed = (e.params['allowedValues'] as unknown[]).map(String);
      return {
        path,
        message: `${JSON.stringify(e.data)} is not a valid value`,
        fix: `use one of ${allowed.join(', ')}`,
        code: 'SCHEMA',
      };
    }
    case 'oneOf': {
      const present = e.data !== null && typeof e.data === 'object' ? Object.keys(e.data) : [];
      const set = oneOfMembers(e.schema).filter((m) => present.includes(m));
      if (set.length > 1) {
        return { path, message: `only one of ${set.join(', ')} may be set`, fix: `keep one of ${set.join(', ')}`, code: 'SCHEMA' };
      }
      return { path, message: e.message ?? 'does not match the schema', fix: REFERENCE_FIX, code: 'SCHEMA' };
    }
    default:
      return { path, message: e.message ?? `fails schema keyword ${e.keyword}`, fix: REFERENCE_FIX, code: 'SCHEMA' };
  }
}

/** Ajv also reports why each oneOf branch failed; those say nothing the oneOf error does not. */
function dropOneOfBranchErrors(errors: SchemaErrorObject[]): SchemaErrorObject[] {
  const oneOfPaths = errors.filter((e) => e.keyword === 'oneOf').map((e) => `${e.schemaPath}/`);
  return errors.filter((e) => !oneOfPaths.some((p) => e.schemaPath.startsWith(p)));
}

const TOP_LEVEL_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

/** Schema problems of one document whose apiVersion/kind the loader already recognised. */
export function validateSchema(kind: ResourceKind, doc: Record<string, unknown>): Issue[] {
  const model = MODELS[kind];
  if (!model) return localSchemaIssues(kind, doc);

  const issues: Issue[] = [];
  for (const e of dropOneOfBranchErrors(schemaErrors(model, doc))) {
    issues.push(mapError(e, doc));
  }
  const schema = specSchema(kind, model);
  const topLevel: JsonSchema = {
    type: 'object',
    properties: Object.fromEntries(TOP_LEVEL_FIELDS.map((f) => [f, f === 'spec' && schema ? schema : {}])),
  };
  issues.push(...unknownFieldIssues(doc, topLevel, []));
  issues.push(...metadataIssues(doc['metadata'], ['metadata']));
  return dedupe(issues);
}

const METADATA_FIELDS: JsonSchema = {
  type: 'object',
  properties: Object.fromEntries(
    [
      'name', 'namespace', 'labels', 'annotations', 'generateName', 'uid', 'resourceVersion', 'generation',
      'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'ownerReferences', 'finalizers',
      'managedFields', 'selfLink',
    ].map((f) => [f, {}]),
  ),
};

/** Unknown metadata fields (Istio's ObjectMeta schema is a $ref the field walker does not follow). */
export function metadataIssues(metadata: unknown, path: FieldPath): Issue[] {
  return unknownFieldIssues(metadata, METADATA_FIELDS, path);
}

function dedupe(issues: Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path.join('\u0000')}\u0001${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
