import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { DataSource } from '../../envoy/index.js';

/**
 * Reads an Envoy DataSource (filename, inline_string, inline_bytes in base64, environment_variable).
 * Relative file names resolve against baseDir. Throws an Error naming the field path on failure.
 */
export function readDataSource(source: DataSource, baseDir: string, path: string): Buffer {
  if (source.filename !== undefined) {
    const file = isAbsolute(source.filename) ? source.filename : resolve(baseDir, source.filename);
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${path}.filename: cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
  }
  if (source.inline_string !== undefined) return Buffer.from(source.inline_string);
  if (source.inline_bytes !== undefined) return Buffer.from(source.inline_bytes, 'base64');
  if (source.environment_variable !== undefined) {
    const value = process.env[source.environment_variable];
    if (value === undefined) throw new Error(`${path}.environment_variable: "${source.environment_variable}" is not set`);
    return Buffer.from(value);
  }
  throw new Error(`${path}: empty data source`);
}
