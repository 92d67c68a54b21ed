import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { DataSource } from '../../envoy/index.js';

/** A DataSource that cannot be read: `path` is the field to fix, `detail` why. */
export class DataSourceError extends Error {
  constructor(readonly path: string, readonly detail: string, options?: { cause?: unknown }) {
    super(`${path}: ${detail}`, options);
    this.name = 'DataSourceError';
  }
}

/**
 * Reads an Envoy DataSource (filename, inline_string, inline_bytes in base64, environment_variable),
 * the one reader for certificates, keys, direct responses and log formats. Relative file names resolve
 * against baseDir. Config is read once, at load, so this is synchronous.
 */
export function readDataSource(source: DataSource, baseDir: string, path: string): Buffer {
  if (source.filename !== undefined) {
    const file = isAbsolute(source.filename) ? source.filename : resolve(baseDir, source.filename);
    try {
      return readFileSync(file);
    } catch (err) {
      throw new DataSourceError(`${path}.filename`, `cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
  }
  if (source.inline_string !== undefined) return Buffer.from(source.inline_string);
  if (source.inline_bytes !== undefined) return Buffer.from(source.inline_bytes, 'base64');
  if (source.environment_variable !== undefined) {
    const value = process.env[source.environment_variable];
    if (value === undefined) throw new DataSourceError(`${path}.environment_variable`, `"${source.environment_variable}" is not set`);
    return Buffer.from(value);
  }
  throw new DataSourceError(path, 'empty data source: set filename, inline_string, inline_bytes or environment_variable');
}
