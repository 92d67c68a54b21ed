// The HCM's path sanitation as a pure function: Envoy's canonicalPath cases, merge_slashes,
// path_with_escaped_slashes_action, fragments and invalid characters.
import { describe, expect, it } from 'vitest';
import { canonicalPath, normalizeRequestPath } from '../../../src/proxy/http/path-normalization.js';
import type { PathNormalizationOptions } from '../../../src/proxy/http/path-normalization.js';

const NONE: PathNormalizationOptions = { normalizePath: false, mergeSlashes: false, escapedSlashes: 'KEEP_UNCHANGED' };
const BASE: PathNormalizationOptions = { ...NONE, normalizePath: true };

describe('canonicalPath (normalize_path)', () => {
  it.each([
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/../../a', '/a'],
    ['/a/..', '/'],
    ['/a/.', '/a/'],
    ['/a/b/../../../c', '/c'],
    ['/app/%2E%2E/admin', '/admin'],
    ['/app/%2e./admin', '/admin'],
    ['/app/.%2e/admin', '/admin'],
    ['/%61dmin', '/admin'],
    ['/%7Euser', '/~user'],
    ['/a%20b', '/a%20b'],
    ['/a%2Fb', '/a%2Fb'],
    ['/a%zzb', '/a%zzb'],
    ['/a\\..\\b', '/b'],
    ['//admin', '//admin'],
    ['/xyz%30..//abc', '/xyz0..//abc'],
  ])('%s -> %s', (input, expected) => expect(canonicalPath(input)).toBe(expected));
});

describe('normalizeRequestPath', () => {
  it('leaves the query string alone', () => {
    expect(normalizeRequestPath('/a/../b?x=/../y&z=%2F', { ...BASE, mergeSlashes: true, escapedSlashes: 'UNESCAPE_AND_FORWARD' })).toEqual({ kind: 'forward', path: '/b?x=/../y&z=%2F' });
  });
  it('strips the fragment whatever the options (CVE-2021-39156)', () => {
    expect(normalizeRequestPath('/admin#frag', NONE)).toEqual({ kind: 'forward', path: '/admin' });
    expect(normalizeRequestPath('/a?q=1#frag', NONE)).toEqual({ kind: 'forward', path: '/a?q=1' });
  });
  it('rejects control characters, space and DEL', () => {
    for (const p of ['/admin\u0000', '/a\rb', '/a b', '/a\u007f']) expect(normalizeRequestPath(p, NONE).kind).toBe('reject');
  });
  it('merge_slashes merges only in the path', () => {
    expect(normalizeRequestPath('//a///b?x=//', { ...NONE, mergeSlashes: true })).toEqual({ kind: 'forward', path: '/a/b?x=//' });
  });
  it('path_with_escaped_slashes_action, %2F and %5C in any case', () => {
    expect(normalizeRequestPath('/a%2fb', NONE)).toEqual({ kind: 'forward', path: '/a%2fb' });
    expect(normalizeRequestPath('/a%2Fb', { ...NONE, escapedSlashes: 'REJECT_REQUEST' })).toEqual({ kind: 'reject', details: 'path_normalization_failed' });
    expect(normalizeRequestPath('/a%5cb', { ...NONE, escapedSlashes: 'REJECT_REQUEST' }).kind).toBe('reject');
    expect(normalizeRequestPath('/a?x=%2F', { ...NONE, escapedSlashes: 'REJECT_REQUEST' }).kind).toBe('forward');
    expect(normalizeRequestPath('/app/..%2fadmin', { ...BASE, escapedSlashes: 'UNESCAPE_AND_FORWARD' })).toEqual({ kind: 'forward', path: '/admin' });
    expect(normalizeRequestPath('/app%5C..%5Cadmin', { ...BASE, escapedSlashes: 'UNESCAPE_AND_REDIRECT' })).toEqual({ kind: 'redirect', path: '/admin' });
    expect(normalizeRequestPath('/app/x', { ...BASE, escapedSlashes: 'UNESCAPE_AND_REDIRECT' })).toEqual({ kind: 'forward', path: '/app/x' });
  });
  it('leaves "*" and non-origin targets', () => {
    expect(normalizeRequestPath('*', BASE)).toEqual({ kind: 'forward', path: '*' });
  });
});
