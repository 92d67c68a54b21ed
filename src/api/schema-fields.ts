/**
 * Unknown-field detection against an OpenAPI (JSON) schema, as kubectl's strict field validation does:
 * a misspelt field (credentialname, exportto) would otherwise be silently dropped and change what the
 * config means.
 */
import type { FieldPath, Issue } from './paths.js';

/** The subset of OpenAPI v3 schema the walker understands. */
export interface JsonSchema {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly additionalProperties?: JsonSchema | boolean;
  readonly items?: JsonSchema;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** The closest known name, if it is close enough to be a typo. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === name.toLowerCase() ? 0 : editDistance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

export function unknownFieldIssues(value: unknown, schema: JsonSchema, path: FieldPath): Issue[] {
  if (schema['x-kubernetes-preserve-unknown-fields']) return [];
  if (Array.isArray(value)) {
    const items = schema.items;
    return items ? value.flatMap((v, i) => unknownFieldIssues(v, items, [...path, i])) : [];
  }
  if (!isObject(value)) return [];
  const properties = schema.properties;
  const additional = schema.additionalProperties;
  const known = properties ? Object.keys(properties) : [];
  // An object schema with neither properties nor additionalProperties is free-form (Struct, status).
  if (known.length === 0 && additional === undefined) return [];

  const issues: Issue[] = [];
  for (const [key, child] of Object.entries(value)) {
    // Object.hasOwn: a key such as "constructor" must not find Object.prototype's member.
    const childSchema = (properties && Object.hasOwn(properties, key) ? properties[key] : undefined) ?? (typeof additional === 'object' ? additional : undefined);
    if (childSchema) {
      issues.push(...unknownFieldIssues(child, childSchema, [...path, key]));
    } else if (additional !== true) {
      const suggestion = closest(key, known);
      issues.push({
        path: [...path, key],
        message: `unknown field "${key}"`,
        fix: suggestion ? `did you mean "${suggestion}"?` : `remove it; known fields here: ${known.join(', ')}`,
        code: 'SCHEMA',
      });
    }
  }
  return issues;
}
