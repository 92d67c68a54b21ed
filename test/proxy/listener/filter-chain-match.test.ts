import { describe, expect, it } from 'vitest';
import { selectFilterChain } from '../../../src/proxy/listener/filter-chain-match.js';
import type { ConnectionFacts } from '../../../src/proxy/listener/filter-chain-match.js';

const facts = (over: Partial<ConnectionFacts>): ConnectionFacts => ({
  destinationPort: 15443, destinationIp: '127.0.0.1', sourceIp: '127.0.0.2', sourcePort: 40000,
  transportProtocol: 'tls', applicationProtocols: [], ...over,
});

describe("filter chain selection (Envoy's order)", () => {
  const chains = [
    { match: { server_names: ['*.svc.cluster.local'] }, value: 'wildcard' },
    { match: { server_names: ['*.simple-app.svc.cluster.local'] }, value: 'longer-wildcard' },
    { match: { server_names: ['frontend.simple-app.svc.cluster.local'] }, value: 'exact' },
    { match: { transport_protocol: 'raw_buffer' }, value: 'plaintext' },
    { match: undefined, value: 'catch-all' },
  ];

  it('exact server name beats the longest wildcard, which beats a shorter one', () => {
    expect(selectFilterChain(chains, facts({ serverName: 'frontend.simple-app.svc.cluster.local' }))).toBe('exact');
    expect(selectFilterChain(chains, facts({ serverName: 'backend.simple-app.svc.cluster.local' }))).toBe('longer-wildcard');
    expect(selectFilterChain(chains, facts({ serverName: 'istiod.istio-system.svc.cluster.local' }))).toBe('wildcard');
  });

  it('falls back to chains without server_names, then narrows by transport protocol', () => {
    expect(selectFilterChain(chains, facts({ serverName: 'example.com' }))).toBe('catch-all');
    expect(selectFilterChain(chains, facts({ transportProtocol: 'raw_buffer' }))).toBe('plaintext');
  });

  it('destination port is decided before server names', () => {
    const byPort = [
      { match: { destination_port: 443, server_names: ['a.example'] }, value: 'a-on-443' },
      { match: { server_names: ['a.example'] }, value: 'a-any-port' },
    ];
    expect(selectFilterChain(byPort, facts({ destinationPort: 443, serverName: 'a.example' }))).toBe('a-on-443');
    expect(selectFilterChain(byPort, facts({ destinationPort: 8443, serverName: 'a.example' }))).toBe('a-any-port');
  });

  it('application protocols and source ranges narrow too; no match means no chain', () => {
    const list = [
      { match: { application_protocols: ['istio-peer-exchange', 'istio'] }, value: 'mtls' },
      { match: { source_prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] }, value: 'ten' },
    ];
    expect(selectFilterChain(list, facts({ applicationProtocols: ['istio'] }))).toBe('mtls');
    expect(selectFilterChain(list, facts({ applicationProtocols: ['h2'], sourceIp: '10.1.2.3' }))).toBe('ten');
    expect(selectFilterChain(list, facts({ applicationProtocols: ['h2'], sourceIp: '192.168.1.1' }))).toBeUndefined();
  });
});
