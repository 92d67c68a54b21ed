/** A version per resource type that changes exactly when the content does: a hash of canonical JSON. */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so that equal content gives equal text whatever the build order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function contentVersion(resources: readonly unknown[]): string {
  return createHash('sha256').update(canonicalJson(resources)).digest('hex').slice(0, 16);
}
