import { describe, expect, it } from 'vitest';
import { TYPE_URL, decodeAny } from '../../../src/envoy/index.js';
import { Snapshot } from '../../../src/controlplane/xds/index.js';
import { EncodeMemo } from '../../../src/controlplane/xds/encode-memo.js';
import { edsCluster } from './helpers.js';

describe('EncodeMemo', () => {
  it('makes a value once per key and drops the least recently used past its bound', () => {
    const memo = new EncodeMemo<string>(2);
    let made = 0;
    const make = (v: string) => () => { made++; return v; };
    expect(memo.get('a', make('A'))).toBe('A');
    expect(memo.get('b', make('B'))).toBe('B');
    expect(memo.get('a', make('other'))).toBe('A'); // hit: 'a' is now the most recent
    expect(made).toBe(2);
    memo.get('c', make('C')); // over the bound: 'b' (least recent) goes, 'a' stays
    expect(memo.size).toBe(2);
    expect(memo.get('a', make('A2'))).toBe('A');
    expect(memo.get('b', make('B2'))).toBe('B2');
    expect(made).toBe(4);
  });
});

describe('Snapshot encodings are shared between snapshots', () => {
  it('an unchanged resource reuses its bytes, a changed one is encoded again and decodes to its new value', () => {
    const first = new Snapshot({ [TYPE_URL.cluster]: { resources: [edsCluster('a'), edsCluster('b')] } });
    const second = new Snapshot({ [TYPE_URL.cluster]: { resources: [edsCluster('a'), edsCluster('b', { connect_timeout: '7s' })] } });
    const one = first.resources(TYPE_URL.cluster);
    const two = second.resources(TYPE_URL.cluster);
    expect(two.get('a')?.any).toBe(one.get('a')?.any);
    expect(two.get('b')?.any).not.toBe(one.get('b')?.any);
    expect(two.get('b')?.version).not.toBe(one.get('b')?.version);
    expect((decodeAny(two.get('b')?.any as never) as { connect_timeout?: string }).connect_timeout).toBe('7s');
    expect(first.version(TYPE_URL.cluster)).not.toBe(second.version(TYPE_URL.cluster));
  });
});
