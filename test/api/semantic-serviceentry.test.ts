// Istio's ServiceEntry and WorkloadEntry rules, each with its exact field path.
import { describe, expect, test } from 'vitest';
import { errorLines, expectOnlyError, load, net } from './helpers.js';

const http = { name: 'http', number: 80, protocol: 'HTTP' };
const se = (spec: Record<string, unknown>) => net('ServiceEntry', { hosts: ['api.example.com'], ports: [http], resolution: 'DNS', ...spec }, 'se', 'shop');

describe('ServiceEntry validation', () => {
  test('valid entries pass: DNS by host, DNS with endpoints for a wildcard host, STATIC with IPs, NONE with CIDR', () => {
    const result = load(
      se({}),
      { ...se({ hosts: ['*.example.com'], endpoints: [{ address: 'ingress.eks.example', ports: { http: 443 } }] }), metadata: { name: 'wild', namespace: 'shop' } },
      { ...se({ resolution: 'STATIC', endpoints: [{ address: '10.0.0.1' }, { address: '2001:db8::1', ports: { http: 8080 } }] }), metadata: { name: 'static', namespace: 'shop' } },
      { ...se({ resolution: 'NONE', addresses: ['10.0.0.0/16'], ports: [{ name: 'tcp', number: 5432, protocol: 'TCP' }] }), metadata: { name: 'none', namespace: 'shop' } },
    );
    expect(result.errors).toEqual([]);
    expect(result.resources).toHaveLength(4);
  });

  test('needs hosts, and "*" is not a host', () => {
    expectOnlyError(load(se({ hosts: [] })), 'spec.hosts', 'service entry must have at least one host');
    expectOnlyError(load(se({ hosts: ['*'], endpoints: [{ address: '1.2.3.4' }], resolution: 'STATIC' })), 'spec.hosts[0]', 'invalid host *');
  });

  test('needs ports, named, with known protocols, unique', () => {
    expectOnlyError(load(se({ ports: [] })), 'spec.ports', 'service entry must have at least one port');
    expectOnlyError(load(se({ ports: [{ number: 80, protocol: 'HTTP' }] })), 'spec.ports[0].name', 'port name must be set');
    expectOnlyError(load(se({ ports: [{ name: 'Web', number: 80, protocol: 'HTTP' }] })), 'spec.ports[0].name', 'invalid port name "Web"');
    expectOnlyError(load(se({ ports: [{ name: 'web', number: 80, protocol: 'QUIC' }] })), 'spec.ports[0].protocol', 'unsupported protocol "QUIC"');
    expectOnlyError(load(se({ ports: [http, { name: 'http', number: 81, protocol: 'HTTP' }] })), 'spec.ports[1].name', 'service entry port name "http" already defined');
  });

  test('resolution STATIC needs endpoints with IP addresses', () => {
    expectOnlyError(load(se({ resolution: 'STATIC' })), 'spec.endpoints', 'resolution STATIC needs endpoints');
    expectOnlyError(load(se({ resolution: 'STATIC', endpoints: [{ ports: { http: 8080 } }] })), 'spec.endpoints[0].address', 'endpoint address is required for resolution STATIC');
    const e = expectOnlyError(load(se({ resolution: 'STATIC', endpoints: [{ address: 'backend.example.com' }] })), 'spec.endpoints[0].address', 'backend.example.com is not a valid IP');
    expect(e.fix).toContain('resolution DNS');
  });

  test('resolution DNS without endpoints needs concrete hosts, not wildcards', () => {
    const e = expectOnlyError(load(se({ hosts: ['*.example.com'] })), 'spec.hosts[0]', 'hosts must be FQDN if no endpoints are provided for resolution mode DNS');
    expect(e.fix).toBe('name a concrete host, or add endpoints');
    expectOnlyError(load(se({ endpoints: [{ address: 'not a host' }] })), 'spec.endpoints[0].address', 'endpoint address "not a host" is not a valid FQDN or an IP address');
  });

  test('endpoint ports must name service ports; NONE takes no endpoints', () => {
    expectOnlyError(load(se({ endpoints: [{ address: 'gw.example.com', ports: { https: 443 } }] })), 'spec.endpoints[0].ports.https', 'endpoint port "https" is not defined by the service entry');
    expectOnlyError(load(se({ resolution: 'NONE', endpoints: [{ address: '1.2.3.4' }] })), 'spec.endpoints', 'no endpoints should be provided for resolution type none');
    expectOnlyError(load(se({ resolution: 'DNS', addresses: ['10.0.0.0/8'] })), 'spec.resolution', 'CIDR addresses are allowed only for NONE/STATIC resolution types');
  });

  test('several hosts need ports that can tell them apart (HTTP Host or TLS SNI)', () => {
    expectOnlyError(load(se({ hosts: ['a.example.com', 'b.example.com'], ports: [{ name: 'tcp', number: 9000, protocol: 'TCP' }] })), 'spec.hosts', 'multiple hosts provided with non-HTTP, non-TLS ports');
    expect(load(se({ hosts: ['a.example.com', 'b.example.com'], ports: [{ name: 'tls', number: 443, protocol: 'TLS' }] })).errors).toEqual([]);
  });

  test('exportTo may be "~" for a ServiceEntry, but not together with others', () => {
    expect(load(se({ exportTo: ['~'] })).errors).toEqual([]);
    expectOnlyError(load(se({ exportTo: ['~', 'other'] })), 'spec.exportTo', 'cannot export service entry to no one (~) and someone');
  });
});

describe('WorkloadEntry validation', () => {
  test('a workload entry with an address passes', () => {
    expect(load(net('WorkloadEntry', { address: '10.1.2.3', ports: { http: 8080 }, labels: { app: 'vm' }, serviceAccount: 'vm' }, 'vm')).errors).toEqual([]);
  });

  test('needs an address that is an IP, a host name or a unix socket', () => {
    const e = expectOnlyError(load(net('WorkloadEntry', { labels: { app: 'vm' } }, 'vm')), 'spec.address', 'address must be set');
    expect(e.fix).toBe('set the IP address or host name of the workload');
    expectOnlyError(load(net('WorkloadEntry', { address: 'bad address' }, 'vm')), 'spec.address', 'address "bad address" is not a valid IP address or host name');
    expect(errorLines(load(net('WorkloadEntry', { address: '10.0.0.1', ports: { http: 0 } }, 'vm')))).toEqual(['spec.ports.http: port number 0 must be in the range 1..65535']);
  });
});
