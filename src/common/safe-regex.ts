/**
 * Envoy's safe_regex is RE2: matching takes time linear in the input, whatever the pattern. V8's
 * default engine backtracks, so a route like `(a+)+b` let one request path of a few dozen characters
 * pin the proxy's only thread for minutes (ReDoS). Every safe_regex is compiled here instead:
 *
 * - V8 is told (once, process-wide) to finish a match on its linear-time engine when backtracking
 *   explodes, so ordinary patterns keep the fast engine and hostile inputs cost linear time.
 * - A pattern that the linear engine cannot run is refused as a config error: backreferences and
 *   lookaround (not RE2 either) and large counted repetitions such as `{1,64}` (Envoy refuses those
 *   too by default: their RE2 program size exceeds re2.max_program_size.error_level, 100).
 */
import { setFlagsFromString } from 'node:v8';

// Read by V8 when a regex is compiled and run; setting them at run time is how Node exposes them.
setFlagsFromString('--enable-experimental-regexp-engine');
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

export class SafeRegexError extends Error {
  /** `reason` follows the pattern in a sentence: 'regex "(" does not compile: ...'. */
  constructor(readonly regex: string, readonly reason: string, readonly fix: string) {
    super(`regex "${regex}" ${reason} (fix: ${fix})`);
    this.name = 'SafeRegexError';
  }
}

const NOT_LINEAR = /cannot be executed in linear time/i;

/**
 * Compiles a regex with linear-time matching. `anchored` wraps it as RE2 FullMatch does (the whole
 * string must match), as Envoy's route and string matchers use it. Throws SafeRegexError.
 */
export function compileSafeRegex(regex: string, options: { anchored?: boolean; flags?: string } = {}): RegExp {
  const source = options.anchored === false ? regex : `^(?:${regex})$`;
  const flags = options.flags ?? '';
  try {
    new RegExp(source, `${flags}l`);
  } catch (err) {
    const reason = (err as Error).message;
    if (NOT_LINEAR.test(reason)) {
      throw new SafeRegexError(regex, 'cannot be matched in linear time (RE2 semantics)', 'remove backreferences (\\1) and lookaround ((?=, (?!, (?<=), and write counted repetitions above {16} with + or * (e.g. [0-9]+ instead of [0-9]{1,64})');
    }
    throw new SafeRegexError(regex, `does not compile: ${reason}`, 'write it in RE2 syntax (https://github.com/google/re2/wiki/Syntax)');
  }
  return new RegExp(source, flags);
}

/** The problem with a regex, or undefined when compileSafeRegex accepts it. */
export function safeRegexProblem(regex: string, options: { anchored?: boolean; flags?: string } = {}): SafeRegexError | undefined {
  try {
    compileSafeRegex(regex, options);
    return undefined;
  } catch (err) {
    if (err instanceof SafeRegexError) return err;
    throw err;
  }
}
