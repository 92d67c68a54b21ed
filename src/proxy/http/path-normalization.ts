/**
 * The HTTP connection manager's path sanitation, as Envoy's ConnectionManagerUtility::maybeNormalizePath:
 * run once per request before the decoder filters (RBAC) and the route match, so that the path that is
 * authorized is the path that is routed and forwarded (CVE-2019-9901, CVE-2021-31920).
 *
 * Order, as in Envoy: invalid characters rejected; the fragment stripped (CVE-2021-39156); escaped slashes
 * (%2F, %5C) handled by path_with_escaped_slashes_action; normalize_path (RFC 3986 dot segments, decoding
 * of percent-encoded unreserved characters, "\" as "/", as Chromium's URL canonicalizer that Envoy uses);
 * merge_slashes. Only the path is touched: the query string goes through unchanged.
 */
import type { HttpConnectionManager } from '../../envoy/index.js';

export type EscapedSlashesAction = NonNullable<HttpConnectionManager['path_with_escaped_slashes_action']>;

export interface PathNormalizationOptions {
  readonly normalizePath: boolean;
  readonly mergeSlashes: boolean;
  readonly escapedSlashes: EscapedSlashesAction;
}

export type PathNormalizationResult =
  | { readonly kind: 'forward'; readonly path: string }
  /** UNESCAPE_AND_REDIRECT found escaped slashes: the client is sent to the normalized path. */
  | { readonly kind: 'redirect'; readonly path: string }
  | { readonly kind: 'reject'; readonly details: string };

export function normalizationOptions(config: HttpConnectionManager): PathNormalizationOptions {
  return {
    normalizePath: config.normalize_path === true,
    mergeSlashes: config.merge_slashes === true,
    escapedSlashes: config.path_with_escaped_slashes_action ?? 'IMPLEMENTATION_SPECIFIC_DEFAULT',
  };
}

/** Controls, space and DEL never belong in a request target (RFC 9112 3.2); Envoy answers 400. */
function hasInvalidCharacter(target: string): boolean {
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
}
const ESCAPED_SLASH = /%(2f|5c)/i;
const UNRESERVED = /[A-Za-z0-9\-._~]/;

export function normalizeRequestPath(target: string, opts: PathNormalizationOptions): PathNormalizationResult {
  if (hasInvalidCharacter(target)) return { kind: 'reject', details: 'invalid_path_characters' };
  const hash = target.indexOf('#');
  const withoutFragment = hash === -1 ? target : target.slice(0, hash);
  const q = withoutFragment.indexOf('?');
  let path = q === -1 ? withoutFragment : withoutFragment.slice(0, q);
  const query = q === -1 ? '' : withoutFragment.slice(q);
  if (path === '*' || !path.startsWith('/')) return { kind: 'forward', path: withoutFragment }; // OPTIONS *, CONNECT

  let redirect = false;
  const action = opts.escapedSlashes;
  if (action !== 'IMPLEMENTATION_SPECIFIC_DEFAULT' && action !== 'KEEP_UNCHANGED' && ESCAPED_SLASH.test(path)) {
    if (action === 'REJECT_REQUEST') return { kind: 'reject', details: 'path_normalization_failed' };
    path = path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
    redirect = action === 'UNESCAPE_AND_REDIRECT';
  }
  if (opts.normalizePath) path = canonicalPath(path);
  if (opts.mergeSlashes) path = path.replace(/\/{2,}/g, '/');
  const result = path + query;
  return redirect ? { kind: 'redirect', path: result } : { kind: 'forward', path: result };
}

/**
 * Chromium's path canonicalization as Envoy's PathUtil::canonicalPath applies it: percent-encoded
 * unreserved characters decoded (so %2E is a dot), "\" read as "/", "." and ".." segments removed
 * (never above the root); other escapes kept as written.
 */
export function canonicalPath(path: string): string {
  let decoded = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i] as string;
    if (c === '%' && i + 2 < path.length && /^[0-9a-fA-F]{2}$/.test(path.slice(i + 1, i + 3))) {
      const ch = String.fromCharCode(parseInt(path.slice(i + 1, i + 3), 16));
      if (UNRESERVED.test(ch)) {
        decoded += ch;
        i += 2;
        continue;
      }
      decoded += `%${path.slice(i + 1, i + 3)}`;
      i += 2;
      continue;
    }
    decoded += c === '\\' ? '/' : c;
  }
  return removeDotSegments(decoded);
}

/** RFC 3986 5.2.4 on a path that starts with "/": empty segments are kept, ".." stops at the root. */
export function removeDotSegments(path: string): string {
  const segments = path.split('/').slice(1);
  const out: string[] = [];
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    if (segment === '.') {
      if (last) out.push('');
    } else if (segment === '..') {
      out.pop();
      if (last) out.push('');
    } else out.push(segment);
  }
  return `/${out.join('/')}`;
}
