import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { IsthmusError } from '../common/index.js';
import { ENVOY_SCHEMA } from './schema.js';
import { SchemaValidator } from './validate.js';
import type { ValidationError } from './validate.js';
import type { Bootstrap } from './types.js';

export class EnvoyConfigError extends IsthmusError {
  readonly errors: readonly ValidationError[];

  constructor(source: string, errors: readonly ValidationError[]) {
    super('ERR_ENVOY_CONFIG', `${source}: ${errors.length} problem${errors.length === 1 ? '' : 's'} in the Envoy config:\n${errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`, {
      hint: 'fix or remove the fields named above; every field Isthmus accepts is honoured with Envoy semantics',
    });
    this.name = 'EnvoyConfigError';
    this.errors = errors;
  }
}

export interface LoadedBootstrap {
  readonly bootstrap: Bootstrap;
  /** Where relative file names in the config resolve from. */
  readonly baseDir: string;
  readonly source: string;
}

/** Validates a parsed bootstrap object; returns the normalized (snake_case) form or the field errors. */
export function validateBootstrap(value: unknown): { valid: true; bootstrap: Bootstrap } | { valid: false; errors: ValidationError[] } {
  const validator = new SchemaValidator(ENVOY_SCHEMA);
  const bootstrap = validator.message(value ?? {}, 'Bootstrap', '');
  if (validator.errors.length > 0 || !bootstrap) return { valid: false, errors: validator.errors };
  return { valid: true, bootstrap: bootstrap as Bootstrap };
}

/** Validates any message of the schema by name (e.g. "Listener", "Cluster") with a base path for errors. */
export function validateMessage<T>(value: unknown, messageName: string, path = ''): { valid: true; value: T } | { valid: false; errors: ValidationError[] } {
  const validator = new SchemaValidator(ENVOY_SCHEMA);
  const result = validator.message(value, messageName, path);
  if (validator.errors.length > 0 || !result) return { valid: false, errors: validator.errors };
  return { valid: true, value: result as T };
}

/** Reads an Envoy v3 bootstrap in YAML or JSON (Envoy's --config-path). */
export async function loadBootstrapFile(path: string): Promise<LoadedBootstrap> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new IsthmusError('ERR_ENVOY_CONFIG', `cannot read the config file ${path}`, { hint: 'check the path given to -c/--config-path', cause: err });
  }
  return { bootstrap: parseBootstrapText(text, path), baseDir: dirname(resolve(path)), source: resolve(path) };
}

/**
 * Parses and validates bootstrap text (YAML or JSON). Throws IsthmusError for text that is not one
 * document, EnvoyConfigError (every field problem with its path) for a document that is not a valid
 * bootstrap; never anything else, whatever the text.
 */
export function parseBootstrapText(text: string, source: string): Bootstrap {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents) || documents.length !== 1) {
    throw new IsthmusError('ERR_ENVOY_CONFIG', `${source}: expected exactly one YAML/JSON document`, { hint: 'an Envoy bootstrap is a single document' });
  }
  const [document] = documents;
  if (document && document.errors.length > 0) {
    const first = document.errors[0];
    throw new IsthmusError('ERR_ENVOY_CONFIG', `${source}: ${first?.message ?? 'invalid YAML'}`, { hint: 'fix the YAML syntax at the line shown' });
  }
  let value: unknown;
  try {
    value = document?.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // An alias bomb ("billion laughs") or an alias to nothing: bad input, not a crash.
    throw new IsthmusError('ERR_ENVOY_CONFIG', `${source}: the YAML cannot be read: ${(err as Error).message}`, { hint: 'remove the excessive or dangling aliases (*name)', cause: err });
  }
  const result = validateBootstrap(value);
  if (!result.valid) throw new EnvoyConfigError(source, result.errors);
  return result.bootstrap;
}
