import { compileSafeRegex } from '../../common/index.js';
import type { RouteAction } from '../../envoy/index.js';

type RegexRewrite = NonNullable<RouteAction['regex_rewrite']>;

/** Compiled once per route action: a per-request RegExp cost CPU and skipped the linear-time engine (ReDoS). */
const compiled = new WeakMap<RegexRewrite, { pattern: RegExp; substitution: string }>();

/**
 * Envoy's route.regex_rewrite: every match in the path (not the query) is replaced, RE2 GlobalReplace
 * style, with \1..\9 standing for capture groups.
 */
export function regexRewritePath(path: string, rewrite: RegexRewrite): string {
  let c = compiled.get(rewrite);
  if (!c) {
    c = { pattern: compileSafeRegex(rewrite.pattern.regex, { anchored: false, flags: 'g' }), substitution: rewrite.substitution.replace(/\\(\d)/g, '$$$1') };
    compiled.set(rewrite, c);
  }
  const q = path.indexOf('?');
  const pathOnly = q === -1 ? path : path.slice(0, q);
  return pathOnly.replace(c.pattern, c.substitution) + (q === -1 ? '' : path.slice(q));
}
