import { describe, expect, it } from 'vitest';
import { PkiError, istioSpiffeId, parseSpiffeId, trustDomainId } from '../../src/pki/index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof PkiError ? err.code : `not a PkiError: ${String(err)}`;
  }
  return undefined;
}

describe('parseSpiffeId', () => {
  it.each([
    ['spiffe://cluster.local/ns/default/sa/sleep', 'cluster.local', '/ns/default/sa/sleep'],
    ['spiffe://vm.local/vm/vm-1', 'vm.local', '/vm/vm-1'],
    ['spiffe://example.org', 'example.org', ''],
    ['spiffe://td_1-x/a.b/C-d_e', 'td_1-x', '/a.b/C-d_e'],
  ])('accepts %s', (text, trustDomain, path) => {
    const id = parseSpiffeId(text);
    expect(id).toEqual({ trustDomain, path, uri: text });
  });

  it.each([
    ['https://cluster.local/ns/default', 'must start with spiffe://'],
    ['SPIFFE://cluster.local/ns/default', 'must start with spiffe://'],
    ['spiffe://', 'trust domain is empty'],
    ['spiffe:///ns/default', 'trust domain is empty'],
    ['spiffe://Cluster.Local/ns/default', 'trust domain may hold only'],
    ['spiffe://cluster.local:8080/ns', 'trust domain may hold only'],
    ['spiffe://user@cluster.local/ns', 'trust domain may hold only'],
    ['spiffe://cluster.local/', 'empty segment'],
    ['spiffe://cluster.local/ns//sa', 'empty segment'],
    ['spiffe://cluster.local/ns/default/', 'empty segment'],
    ['spiffe://cluster.local/ns/../sa', '"." or ".."'],
    ['spiffe://cluster.local/./ns', '"." or ".."'],
    ['spiffe://cluster.local/ns/de fault', 'may hold only letters'],
    ['spiffe://cluster.local/ns/default?x=1', 'may hold only letters'],
    ['spiffe://cluster.local/ns/default#frag', 'may hold only letters'],
    ['spiffe://cluster.local/ns/%41', 'may hold only letters'],
  ])('refuses %s', (text, why) => {
    expect(codeOf(() => parseSpiffeId(text))).toBe('ERR_PKI_SPIFFE_ID');
    expect(() => parseSpiffeId(text)).toThrow(why);
  });

  it('says how to write a valid ID', () => {
    try {
      parseSpiffeId('cluster.local/ns/default');
      expect.unreachable();
    } catch (err) {
      expect((err as PkiError).hint).toContain('spiffe://<trust-domain>/<path>');
      expect((err as PkiError).message).toContain('cluster.local/ns/default');
    }
  });

  it('builds Istio workload IDs and trust domain IDs, validating them', () => {
    expect(istioSpiffeId('cluster.local', 'default', 'sleep').uri).toBe('spiffe://cluster.local/ns/default/sa/sleep');
    expect(trustDomainId('vm.local')).toEqual({ trustDomain: 'vm.local', path: '', uri: 'spiffe://vm.local' });
    expect(codeOf(() => istioSpiffeId('cluster.local', 'de/fault', ''))).toBe('ERR_PKI_SPIFFE_ID');
    expect(codeOf(() => trustDomainId('Bad Domain'))).toBe('ERR_PKI_SPIFFE_ID');
  });
});
