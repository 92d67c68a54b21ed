import { json, text } from '../responses.js';
import type { AdminResponse } from '../types.js';
import type { ConfigDump, ConfigDumpEntry } from './build.js';
import { INVALID, parseMask, trimMessage } from './mask.js';
import { redactSecrets } from './redact.js';
import { SCHEMAS, elementTypeUrl } from './schema.js';

const SUPPORTED = ['resource', 'mask', 'name_regex'];

/** ?name_regex= must match the whole name (RE2 full match in Envoy). */
function nameMatcher(query: URLSearchParams): ((name: unknown) => boolean) | string {
  const pattern = query.get('name_regex');
  if (!pattern) return () => true;
  try {
    const re = new RegExp(`^(?:${pattern})$`);
    return (name) => typeof name === 'string' && re.test(name);
  } catch (err) {
    return `Error while parsing name_regex from ${pattern}: ${(err as Error).message}\n`;
  }
}

/** The config with its repeated resources filtered by name. */
function filterByName(config: ConfigDumpEntry, matches: (name: unknown) => boolean): ConfigDumpEntry {
  const schema = SCHEMAS[config['@type']];
  if (!schema) return config;
  const out: ConfigDumpEntry = { ...config };
  for (const [field, kind] of Object.entries(schema.fields)) {
    const elements = config[field];
    if (typeof kind !== 'object' || !Array.isArray(elements)) continue;
    const named = SCHEMAS[kind.repeated]?.resourceName;
    if (!named) continue;
    const kept = elements.filter((e: Record<string, unknown>) => matches(named(e)));
    if (kept.length) out[field] = kept;
    else delete out[field];
  }
  return out;
}

/** ?resource=: the elements of one repeated field, each packed with its own type. */
function resourceDump(configs: readonly ConfigDumpEntry[], resource: string, paths: string[][] | undefined, mask: string | null): AdminResponse {
  for (const config of configs) {
    const kind = SCHEMAS[config['@type']]?.fields[resource];
    if (kind === undefined) continue;
    if (typeof kind !== 'object') return text(400, `${resource} is not a repeated field. Use ?mask=${resource} to get only this field\n`);
    const elementSchema = SCHEMAS[kind.repeated];
    const out: ConfigDumpEntry[] = [];
    for (const element of (config[resource] as Array<Record<string, unknown>> | undefined) ?? []) {
      const trimmed = paths && elementSchema ? trimMessage(element, elementSchema, paths, true) : element;
      if (trimmed === INVALID) return text(400, `FieldMask ${mask} could not be successfully used.\n`);
      out.push({ '@type': elementTypeUrl(kind.repeated), ...trimmed });
    }
    return json(200, redactSecrets({ configs: out }));
  }
  return text(404, `${resource} not found in config dump\n`);
}

/**
 * GET /config_dump with Envoy's query parameters: resource=<repeated field>, mask=<field mask>,
 * name_regex=<regex>. include_eds and anything else is refused with 400 rather than ignored.
 */
export function queryConfigDump(dump: ConfigDump, query: URLSearchParams): AdminResponse {
  const unsupported = [...query.keys()].filter((k) => !SUPPORTED.includes(k));
  if (unsupported.length) {
    return text(400, `unsupported /config_dump parameter ${unsupported.join(', ')}; Isthmus supports ${SUPPORTED.join(', ')} (no EDS dump: use /clusters for endpoints)\n`);
  }
  const matches = nameMatcher(query);
  if (typeof matches === 'string') return text(400, matches);
  const configs = dump.configs.map((c) => filterByName(c, matches));
  const mask = query.get('mask');
  const paths = mask === null ? undefined : parseMask(mask);
  const resource = query.get('resource');
  if (resource) return resourceDump(configs, resource, paths, mask);
  if (!paths) return json(200, redactSecrets({ configs }));

  // A mask applies to each config it fits; configs it does not fit are left out.
  const out: ConfigDumpEntry[] = [];
  for (const config of configs) {
    const schema = SCHEMAS[config['@type']];
    const trimmed = schema ? trimMessage(config, schema, paths, false) : INVALID;
    if (trimmed !== INVALID) out.push(trimmed as ConfigDumpEntry);
  }
  if (out.length === 0) return text(400, `FieldMask ${mask} could not be successfully applied to any configs.\n`);
  return json(200, redactSecrets({ configs: out }));
}
