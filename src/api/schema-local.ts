/**
 * Schemas for the kinds that are not Istio CRDs: Kubernetes v1 Secret, Namespace and Service (the fields
 * Isthmus reads, plus Service's other fields, accepted and ignored) and Isthmus' MeshConfig. Same checks as for Istio kinds: types, then unknown fields.
 */
import { unknownFieldIssues } from './schema-fields.js';
import type { JsonSchema } from './schema-fields.js';
import type { FieldPath, Issue } from './paths.js';
import type { ResourceKind } from './types.js';

const STRING: JsonSchema = { type: 'string' };
const BOOLEAN: JsonSchema = { type: 'boolean' };
const STRING_MAP: JsonSchema = { type: 'object', properties: {}, additionalProperties: STRING };
const FREE: JsonSchema = {};

const METADATA: JsonSchema = {
  type: 'object',
  properties: {
    name: STRING,
    namespace: STRING,
    labels: STRING_MAP,
    annotations: STRING_MAP,
    generateName: STRING,
    uid: STRING,
    resourceVersion: STRING,
    generation: { type: 'integer' },
    creationTimestamp: FREE,
    deletionTimestamp: FREE,
    deletionGracePeriodSeconds: FREE,
    ownerReferences: FREE,
    finalizers: FREE,
    managedFields: FREE,
    selfLink: STRING,
  },
};

function object(properties: Record<string, JsonSchema>): JsonSchema {
  return { type: 'object', properties: { apiVersion: STRING, kind: STRING, metadata: METADATA, ...properties } };
}

const INTEGER: JsonSchema = { type: 'integer' };

/** core/v1 ServiceSpec: ports and selector make the mesh service; the rest is Kubernetes networking Isthmus has no use for. */
const SERVICE_SPEC: JsonSchema = {
  type: 'object',
  properties: {
    ports: {
      type: 'array',
      items: {
        type: 'object',
        // targetPort is an int-or-string; the semantic check reads it.
        properties: { name: STRING, protocol: STRING, appProtocol: STRING, port: INTEGER, targetPort: FREE, nodePort: INTEGER },
      },
    },
    selector: STRING_MAP,
    ...Object.fromEntries([
      'type', 'clusterIP', 'clusterIPs', 'externalIPs', 'externalName', 'externalTrafficPolicy', 'internalTrafficPolicy',
      'healthCheckNodePort', 'ipFamilies', 'ipFamilyPolicy', 'loadBalancerIP', 'loadBalancerSourceRanges', 'loadBalancerClass',
      'allocateLoadBalancerNodePorts', 'publishNotReadyAddresses', 'sessionAffinity', 'sessionAffinityConfig', 'trafficDistribution',
    ].map((f) => [f, FREE])),
  },
};

const SCHEMAS: Partial<Record<ResourceKind, JsonSchema>> = {
  Secret: object({ type: STRING, data: STRING_MAP, stringData: STRING_MAP, immutable: BOOLEAN }),
  Namespace: object({ spec: FREE, status: FREE }),
  Service: object({ spec: SERVICE_SPEC, status: FREE }),
  MeshConfig: object({
    spec: {
      type: 'object',
      properties: {
        trustDomain: STRING,
        network: STRING,
        accessLogFile: STRING,
        ca: { type: 'object', properties: { workloadCertTtl: STRING, maxWorkloadCertTtl: STRING } },
        skipValidateTrustDomain: BOOLEAN,
        verifyCertificateAtClient: BOOLEAN,
        extraTrustedRoots: { type: 'array', items: STRING },
        caCertificates: {
          type: 'array',
          items: { type: 'object', properties: { pem: STRING, trustDomains: { type: 'array', items: STRING }, spiffeBundleUrl: STRING, certSigners: { type: 'array', items: STRING } } },
        },
        pathNormalization: { type: 'object', properties: { normalization: STRING } },
      },
    },
  }),
};

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

function typeIssues(value: unknown, schema: JsonSchema, path: FieldPath): Issue[] {
  if (value === undefined || value === null) return [];
  const actual = typeOf(value);
  if (schema.type && schema.type !== actual && !(schema.type === 'number' && actual === 'integer')) {
    const fix = schema.type === 'string' ? 'quote the value' : schema.type === 'array' ? 'write a list' : `write a ${schema.type}`;
    return [{ path, message: `must be ${schema.type}, got ${actual}`, fix, code: 'SCHEMA' }];
  }
  if (Array.isArray(value) && schema.items) {
    const items = schema.items;
    return value.flatMap((v, i) => typeIssues(v, items, [...path, i]));
  }
  if (actual === 'object') {
    const issues: Issue[] = [];
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const childSchema = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (childSchema) issues.push(...typeIssues(child, childSchema, [...path, key]));
    }
    return issues;
  }
  return [];
}

export function localSchemaIssues(kind: ResourceKind, doc: Record<string, unknown>): Issue[] {
  const schema = SCHEMAS[kind];
  if (!schema) return [];
  return [...typeIssues(doc, schema, []), ...unknownFieldIssues(doc, schema, [])];
}
