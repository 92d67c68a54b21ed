/**
 * Query parameters become field bindings: `a.b=1&tags=x&tags=y` binds the (nested) field a.b and appends
 * to the repeated field tags. Parameters without '=' or with an empty name are skipped and names are not
 * decoded, as in grpc-httpjson-transcoding; ignored_query_parameters are dropped before field lookup.
 */
import type { VariableBinding } from './path-matcher.js';
import { unescapeQueryValue } from './url-unescape.js';

export function parseQueryBindings(query: string, ignored: ReadonlySet<string>, unescapePlus: boolean): VariableBinding[] {
  const bindings: VariableBinding[] = [];
  if (query === '') return bindings;
  for (const param of query.split('&')) {
    const eq = param.indexOf('=');
    if (eq <= 0) continue;
    const name = param.slice(0, eq);
    if (ignored.has(name)) continue;
    bindings.push({ fieldPath: name.split('.'), value: unescapeQueryValue(param.slice(eq + 1), unescapePlus) });
  }
  return bindings;
}
