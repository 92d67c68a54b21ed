/** DNS proxying (DNS_CAPTURE / DNS_AUTO_ALLOCATE): VIP allocation, the name table, and what a sidecar gets. */
import { describe, expect, it } from 'vitest';
import { encodeAny, TYPE_URL } from '../../../src/envoy/index.js';
import {
  allocateVips, buildNameTable, buildServiceRegistry, DNS_LISTENER_NAME, DNS_METADATA_KEY, dnsSettings, translate,
} from '../../../src/controlplane/translate/index.js';
import type { ConfigSnapshot, MeshService, ProxyNode, RegistryService, ServiceEntry } from '../../../src/controlplane/translate/index.js';
import { withVips } from '../../../src/controlplane/translate/dns.js';

const se = (name: string, namespace: string, spec: Partial<ServiceEntry['spec']> & { hosts: string[] }): ServiceEntry => ({
  kind: 'ServiceEntry',
  metadata: { name, namespace },
  spec: { ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'DNS', ...spec },
});

// The seed's ServiceEntry (resolution DNS, no addresses) and a few neighbours.
const snapshot: ConfigSnapshot = {
  serviceEntries: [
    se('se-lambda-ext', 'istio-egress', { hosts: ['lambda.external'], endpoints: [{ address: '127.0.0.1', ports: { http: 8080 } }] }),
    se('db', 'istio-egress', { hosts: ['db.example.com'], addresses: ['10.20.0.5'], ports: [{ number: 5432, name: 'tcp', protocol: 'TCP' }], resolution: 'STATIC', endpoints: [{ address: '10.20.0.5' }] }),
    se('cidr', 'istio-egress', { hosts: ['range.example.com'], addresses: ['10.30.0.0/16'], ports: [{ number: 9000, name: 'tcp', protocol: 'TCP' }] }),
    se('wild', 'istio-egress', { hosts: ['*.wild.example.com'] }),
    se('passthrough', 'istio-egress', { hosts: ['pass.example.com'], resolution: 'NONE', ports: [{ number: 8443, name: 'tls', protocol: 'TLS' }] }),
    se('redis', 'istio-egress', { hosts: ['redis.external'], ports: [{ number: 6379, name: 'tcp', protocol: 'TCP' }], endpoints: [{ address: '127.0.0.1' }] }),
  ],
};
const meshServices: MeshService[] = [
  { hostname: 'frontend.simple-app.svc.cluster.local', namespace: 'simple-app', ports: [{ name: 'http', number: 8080, protocol: 'HTTP' }] },
  { hostname: 'backend.other.svc.cluster.local', namespace: 'other', ports: [{ name: 'http', number: 8080, protocol: 'HTTP' }] },
];

const sidecar = (metadata: Record<string, string>, namespace = 'simple-app'): ProxyNode => ({
  id: `sidecar~127.0.10.3~sleep-1.${namespace}~${namespace}.svc.cluster.local`, type: 'sidecar', namespace, labels: { app: 'sleep' }, metadata, ip: '127.0.10.3',
});
const DNS = { DNS_CAPTURE: 'true', DNS_AUTO_ALLOCATE: 'true' };

function services(extra: string[] = []): RegistryService[] {
  const entries = [...(snapshot.serviceEntries ?? []), ...extra.map((h, i) => se(`x${i}`, 'default', { hosts: [h] }))];
  return [...buildServiceRegistry({ serviceEntries: entries }, { meshServices }).services];
}

describe('DNS settings from node metadata', () => {
  it('reads DNS_CAPTURE, DNS_AUTO_ALLOCATE (only with capture) and DNS_PORT', () => {
    expect(dnsSettings(DNS)).toEqual({ capture: true, autoAllocate: true, port: 15053 });
    expect(dnsSettings({ DNS_AUTO_ALLOCATE: 'true' })).toEqual({ capture: false, autoAllocate: false, port: 15053 });
    expect(dnsSettings({ DNS_CAPTURE: 'TRUE', DNS_PORT: '15054' })).toEqual({ capture: true, autoAllocate: false, port: 15054 });
    expect(dnsSettings({ DNS_CAPTURE: 'false', DNS_PORT: '99999' })).toEqual({ capture: false, autoAllocate: false, port: 15053 });
    expect(dnsSettings(undefined).capture).toBe(false);
  });
});

describe('VIP allocation', () => {
  it('gives a 127.240.0.0/16 VIP to hosts without addresses, none to given addresses, wildcards or resolution NONE', () => {
    const vips = allocateVips(services());
    expect([...vips.keys()].sort()).toEqual(['backend.other.svc.cluster.local', 'frontend.simple-app.svc.cluster.local', 'lambda.external', 'redis.external']);
    for (const vip of vips.values()) expect(vip).toMatch(/^127\.240\.\d{1,3}\.\d{1,3}$/);
    // The ServiceEntry's own address is kept as its address.
    const db = withVips(services(), vips).find((s) => s.hostname === 'db.example.com');
    expect(db?.addresses).toEqual(['10.20.0.5']);
  });

  it('is stable: the same VIP whatever the order of the services, after a restart, and when other hosts come and go', () => {
    const first = allocateVips(services());
    expect(allocateVips([...services()].reverse())).toEqual(first);
    const more = allocateVips(services(Array.from({ length: 50 }, (_, i) => `svc-${i}.example.org`)));
    for (const [host, vip] of first) expect(more.get(host)).toBe(vip);
    // Pinned: the VIP is a function of the name (sha-256), so every replica, restart and release agrees on it.
    expect(first.get('lambda.external')).toBe('127.240.235.80');
  });

  it('never gives two hosts the same VIP, also when hashes collide (5,000 hosts)', () => {
    const hosts = Array.from({ length: 5000 }, (_, i) => `h${i}.example.net`);
    const vips = allocateVips(services(hosts));
    expect(vips.size).toBe(5000 + 4);
    expect(new Set(vips.values()).size).toBe(vips.size);
    expect([...vips.values()]).not.toContain('127.240.0.0');
    expect([...vips.values()]).not.toContain('127.240.255.255');
  });
});

describe('name table', () => {
  it('has every addressed host, Kubernetes short names for the proxy namespace only, and leaves out hosts without an address', () => {
    const vips = allocateVips(services());
    const table = buildNameTable(withVips(services(), vips), 'simple-app', 'cluster.local');
    const frontend = vips.get('frontend.simple-app.svc.cluster.local') as string;
    const backend = vips.get('backend.other.svc.cluster.local') as string;
    expect(table['lambda.external']).toEqual([vips.get('lambda.external')]);
    expect(table['db.example.com']).toEqual(['10.20.0.5']);
    expect(table['frontend.simple-app.svc.cluster.local']).toEqual([frontend]);
    expect(table['frontend.simple-app.svc']).toEqual([frontend]);
    expect(table['frontend.simple-app']).toEqual([frontend]);
    expect(table.frontend).toEqual([frontend]);
    expect(table['backend.other']).toEqual([backend]);
    expect(table.backend).toBeUndefined();
    expect(Object.keys(table).some((n) => n.includes('*') || n === 'pass.example.com' || n === 'range.example.com')).toBe(false);
    // In namespace "other" the short name is backend's, not frontend's.
    const other = buildNameTable(withVips(services(), vips), 'other', 'cluster.local');
    expect(other.backend).toEqual([backend]);
    expect(other.frontend).toBeUndefined();
    // Without auto-allocation only given addresses are in the table.
    expect(Object.keys(buildNameTable(services(), 'simple-app', 'cluster.local'))).toEqual(['db.example.com']);
  });
});

describe('a sidecar with DNS_CAPTURE / DNS_AUTO_ALLOCATE', () => {
  const names = (proxy: ProxyNode) => translate(snapshot, proxy, { meshServices }).listeners.map((l) => l.name);

  it('without the metadata: no VIP listeners and no dns listener (unchanged output)', () => {
    const listeners = names(sidecar({}));
    expect(listeners.filter((n) => n?.startsWith('127.240.'))).toEqual([]);
    expect(listeners).not.toContain(DNS_LISTENER_NAME);
    // DNS_AUTO_ALLOCATE alone does nothing: Istio uses allocated addresses only for proxies that capture DNS.
    expect(names(sidecar({ DNS_AUTO_ALLOCATE: 'true' }))).toEqual(listeners);
  });

  it('with both: <vip>_<port> listeners (HTTP on the port route, TCP to the cluster) and the name table on the unbound dns listener', () => {
    const vips = allocateVips(buildServiceRegistry(snapshot, { meshServices }).services);
    const lambda = vips.get('lambda.external') as string;
    const redis = vips.get('redis.external') as string;
    const result = translate(snapshot, sidecar(DNS), { meshServices });
    const byName = new Map(result.listeners.map((l) => [l.name, l]));
    const http = byName.get(`${lambda}_80`);
    expect(http?.address.socket_address).toEqual({ address: lambda, port_value: 80 });
    expect(JSON.stringify(http?.filter_chains)).toContain('"route_config_name":"80"');
    expect(byName.has('0.0.0.0_80')).toBe(true);
    expect(JSON.stringify(byName.get(`${redis}_6379`)?.filter_chains)).toContain('"cluster":"outbound|6379||redis.external"');
    expect(byName.has('0.0.0.0_6379')).toBe(false);
    // The VIP is also a domain of the service's virtual host (curl http://<vip>/ works).
    const route80 = result.routes.find((r) => r.name === '80');
    expect(route80?.virtual_hosts?.find((v) => v.name === 'lambda.external:80')?.domains).toContain(lambda);

    const dns = byName.get(DNS_LISTENER_NAME);
    expect(dns?.bind_to_port).toBe(false);
    expect(dns?.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 15053 });
    const table = (dns?.metadata?.filter_metadata?.[DNS_METADATA_KEY] as { table: Record<string, { ips: string[] }> }).table;
    expect(table['lambda.external']).toEqual({ ips: [lambda] });
    expect(table.frontend?.ips).toEqual([vips.get('frontend.simple-app.svc.cluster.local')]);
    // What a real Envoy gets: the listener encodes as envoy.config.listener.v3.Listener (metadata and all).
    expect(() => encodeAny(TYPE_URL.listener, dns as unknown as Record<string, unknown>)).not.toThrow();
    expect(result.warnings.filter((w) => w.message.includes('pod IP'))).toEqual([]);
  });

  it('DNS_CAPTURE without DNS_AUTO_ALLOCATE: the table has only given addresses and there are no VIP listeners', () => {
    const result = translate(snapshot, sidecar({ DNS_CAPTURE: 'true', DNS_PORT: '15054' }), { meshServices });
    expect(result.listeners.filter((l) => l.name?.startsWith('127.240.'))).toEqual([]);
    const dns = result.listeners.find((l) => l.name === DNS_LISTENER_NAME);
    expect(dns?.address.socket_address.port_value).toBe(15054);
    expect(Object.keys((dns?.metadata?.filter_metadata?.[DNS_METADATA_KEY] as { table: object }).table)).toEqual(['db.example.com']);
  });

  it('every proxy gets the same VIP for a host, whatever its namespace', () => {
    const vipOf = (ns: string) => translate(snapshot, sidecar(DNS, ns), { meshServices }).listeners.find((l) => l.name?.endsWith('_80') && l.name.startsWith('127.240.'))?.name;
    expect(vipOf('simple-app')).toBeDefined();
    expect(vipOf('sleep')).toBe(vipOf('simple-app'));
  });

  it('without a pod IP the 0.0.0.0 listener on a VIP port is not bound (both cannot bind), with a warning', () => {
    const { ip: _ip, ...noIp } = sidecar(DNS);
    const result = translate(snapshot, noIp, { meshServices });
    expect(result.listeners.find((l) => l.name === '0.0.0.0_80')?.bind_to_port).toBe(false);
    expect(result.warnings.map((w) => w.message).join('\n')).toContain('0.0.0.0_80 is not bound');
  });
});
