import { describe, expect, it } from 'vitest';
import { revisionRefusal, versionOfRevision } from '../../src/controlplane/index.js';

describe('revision binding', () => {
  const rev17 = { revision: '1-17', defaultRevision: false };
  it('serves its own revision; refuses another, naming both and the fix', () => {
    expect(revisionRefusal({ 'istio.io/rev': '1-17' }, rev17, 'istiod-1-17')).toBeUndefined();
    const other = revisionRefusal({ 'istio.io/rev': '1-18' }, rev17, 'istiod-1-17');
    expect(other?.proxyRevision).toBe('1-18');
    expect(other?.reason).toBe('the proxy is labelled istio.io/rev=1-18, and control plane istiod-1-17 serves revision 1-17');
    expect(other?.hint).toContain('control plane of revision 1-18');
  });
  it('an unlabelled proxy (or istio.io/rev=default) only at the default revision', () => {
    expect(revisionRefusal({}, rev17, 'istiod-1-17')?.reason).toContain('has no istio.io/rev label');
    expect(revisionRefusal({ 'istio.io/rev': '' }, rev17, 'istiod-1-17')?.hint).toContain('--default-revision');
    expect(revisionRefusal({}, { ...rev17, defaultRevision: true }, 'istiod-1-17')).toBeUndefined();
    expect(revisionRefusal({ 'istio.io/rev': 'default' }, { defaultRevision: true }, 'istiod')).toBeUndefined();
    expect(revisionRefusal({ 'istio.io/rev': '1-17' }, { defaultRevision: true }, 'istiod')?.reason).toContain('serves revision default');
  });
  it('VERSION from the revision name', () => {
    expect(versionOfRevision('1-17')).toBe('1.17.2');
    expect(versionOfRevision('1-18')).toBe('1.18.0');
    expect(versionOfRevision('1-18-3')).toBe('1.18.3');
    expect(versionOfRevision('canary')).toBe('1.17.2');
    expect(versionOfRevision(undefined)).toBe('1.17.2');
  });
});
