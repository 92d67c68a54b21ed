import { loadResources, validateObject } from '../../api/index.js';
import type { ConfigError, IstioResource, LoadResult } from '../../api/index.js';
import { stripBookkeeping } from './refs.js';

/** Parses and validates multi-document YAML/JSON text with src/api. */
export function loadText(text: string, source: string): LoadResult {
  return loadResources(text, source);
}

/**
 * Validates resources handed to the store in code, so that nothing reaches the store unchecked. Errors
 * point at where a resource was loaded from when the loader recorded it.
 */
export function validateResources(resources: readonly IstioResource[], source: string): { resources: IstioResource[]; errors: ConfigError[] } {
  const valid: IstioResource[] = [];
  const errors: ConfigError[] = [];
  resources.forEach((resource, index) => {
    const origin = resource.origin;
    const result = validateObject(stripBookkeeping(resource), { source: origin?.source ?? source, document: origin?.document ?? index + 1 });
    if (result.resource) valid.push(stripBookkeeping(result.resource));
    else if (result.errors.length === 0 && result.ignored) {
      errors.push({ severity: 'error', code: 'INVALID_OBJECT', source, document: index + 1, kind: resource.kind, name: resource.metadata.name, message: result.ignored.reason, fix: 'store only Isthmus config kinds' });
    }
    errors.push(...result.errors);
  });
  return { resources: valid, errors };
}
