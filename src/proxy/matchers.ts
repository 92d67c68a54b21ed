/**
 * Envoy's StringMatcher (envoy.type.matcher.v3.StringMatcher), compiled once into a predicate.
 * Shared by route/header matching, SAN verification and RBAC.
 */
import type { StringMatcher } from '../envoy/index.js';
import { SafeRegexError, compileSafeRegex } from '../common/index.js';

export type StringPredicate = (value: string) => boolean;

/**
 * Compiles a StringMatcher. `ignore_case` applies to exact/prefix/suffix/contains, not to safe_regex
 * (as in Envoy). safe_regex must match the whole string, as RE2 FullMatch does in Envoy, in linear time.
 * Throws when the matcher has no pattern or the regex does not compile (or is not linear-time).
 */
export function stringMatcher(m: StringMatcher): StringPredicate {
  const fold = m.ignore_case === true;
  if (m.safe_regex !== undefined) {
    let re: RegExp;
    try {
      re = compileSafeRegex(m.safe_regex.regex);
    } catch (err) {
      const why = err instanceof SafeRegexError ? `${err.reason} (fix: ${err.fix})` : `does not compile: ${(err as Error).message}`;
      throw new Error(`safe_regex "${m.safe_regex.regex}" ${why}`, { cause: err });
    }
    return (s) => re.test(s);
  }
  if (m.exact !== undefined) {
    const want = fold ? m.exact.toLowerCase() : m.exact;
    return fold ? (s) => s.toLowerCase() === want : (s) => s === want;
  }
  if (m.prefix !== undefined) {
    const want = fold ? m.prefix.toLowerCase() : m.prefix;
    return fold ? (s) => s.toLowerCase().startsWith(want) : (s) => s.startsWith(want);
  }
  if (m.suffix !== undefined) {
    const want = fold ? m.suffix.toLowerCase() : m.suffix;
    return fold ? (s) => s.toLowerCase().endsWith(want) : (s) => s.endsWith(want);
  }
  if (m.contains !== undefined) {
    const want = fold ? m.contains.toLowerCase() : m.contains;
    return fold ? (s) => s.toLowerCase().includes(want) : (s) => s.includes(want);
  }
  throw new Error('a string matcher needs one of exact, prefix, suffix, contains or safe_regex');
}
