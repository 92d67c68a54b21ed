export { TYPE_URL, messageName } from './type-urls.js';
export { ENVOY_SCHEMA, TYPE_URL_BY_EXTENSION_NAME } from './schema.js';
export { SchemaValidator, durationMs, toSnakeCase } from './validate.js';
export type { Spec, MessageSpec, SchemaRegistry, ValidationError } from './validate.js';
export { loadBootstrapFile, validateBootstrap, validateMessage, EnvoyConfigError } from './bootstrap.js';
export type { LoadedBootstrap } from './bootstrap.js';
export type * from './types.js';
