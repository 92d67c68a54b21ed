import { formatConfigError } from '../../api/index.js';
import type { ConfigError } from '../../api/index.js';
import { describeRef } from './refs.js';
import type { ResourceRef, StoreProblem } from './types.js';

/** A store refusal in the same shape as src/api's config errors, so clients print both one way. */
export function storeError(code: StoreProblem['code'], ref: ResourceRef, source: string, message: string, fix: string, severity: 'error' | 'warning' = 'error'): StoreProblem {
  return { severity, code, source, kind: ref.kind, name: ref.name, namespace: ref.namespace, resource: describeRef(ref), message, fix };
}

/** "file:line (document n): error: Kind name.ns: path: message" and the fix. */
export function formatProblem(problem: StoreProblem): string {
  // The formatter reads neither the code nor anything a store code would change.
  return formatConfigError(problem as ConfigError);
}
