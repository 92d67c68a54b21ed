// Loading: YAML/JSON, multi-document, errors with file, document, line, column, resource and field path.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatConfigError, loadResourceFiles, loadResources, validateObject } from '../../src/api/index.js';
import { errorLines, expectOnlyError, load, net } from './helpers.js';

const GATEWAY = `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata:
  name: gw
  namespace: edge
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: 443
      name: https
      protocol: HTTPS
    hosts:
    - app.example.com
    tls:
      mode: SIMPLE
      credentialName: app-cert
`;

describe('loadResources', () => {
  test('broken YAML names the file, the document and the line; the other documents still load', () => {
    const text = `${GATEWAY}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n   labels: [x\n---\n${GATEWAY.replace('name: gw', 'name: gw2')}`;
    const result = loadResources(text, 'config/edge.yaml');
    expect(result.resources.map((r) => r.metadata.name)).toEqual(['gw', 'gw2']);
    expect(result.errors.length).toBeGreaterThan(0);
    const first = result.errors[0];
    expect(first).toMatchObject({ code: 'YAML_SYNTAX', source: 'config/edge.yaml', document: 2, line: 23 });
    expect(formatConfigError(first!)).toMatch(/^config\/edge\.yaml:23:\d+ \(document 2\): error: YAML syntax error: /);
  });

  test('duplicate keys are a YAML error at the second key', () => {
    const result = loadResources('apiVersion: v1\nkind: Namespace\nkind: Namespace\nmetadata: {name: a}\n', 'dup.yaml');
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ code: 'YAML_SYNTAX', document: 1, line: 3, column: 1 });
    expect(result.errors[0]?.message).toContain('Map keys must be unique');
  });

  test('semantic errors carry resource, field path and the line of that field', () => {
    const text = GATEWAY.replace('      mode: SIMPLE\n      credentialName: app-cert\n', '      mode: MUTUAL\n');
    const result = loadResources(`---\n# leading comment\n${text}`, 'gw.yaml');
    expect(result.resources).toEqual([]);
    const byPath = Object.fromEntries(result.errors.map((e) => [e.path, e]));
    expect(Object.keys(byPath).sort()).toEqual(['spec.servers[0].tls.caCertificates', 'spec.servers[0].tls.privateKey', 'spec.servers[0].tls.serverCertificate']);
    // The missing fields are located at their parent, tls (line 18 of the gateway + 2 leading lines).
    expect(byPath['spec.servers[0].tls.serverCertificate']).toMatchObject({
      severity: 'error',
      code: 'SEMANTIC',
      source: 'gw.yaml',
      document: 1,
      line: 18,
      column: 5,
      kind: 'Gateway',
      name: 'gw',
      namespace: 'edge',
      resource: 'Gateway gw.edge',
      message: 'MUTUAL TLS requires a server certificate',
    });
    expect(byPath['spec.servers[0].tls.serverCertificate']?.fix).toContain('credentialName');
  });

  test('schema errors: wrong type, bad enum and unknown field, each at its own line with a fix', () => {
    const text = GATEWAY.replace('number: 443', 'number: "443"').replace('mode: SIMPLE', 'mode: SIMPEL').replace('credentialName:', 'credentialname:');
    const result = loadResources(text, 'gw.yaml');
    expect(result.resources).toEqual([]);
    const byPath = Object.fromEntries(result.errors.map((e) => [e.path, e]));
    expect(byPath['spec.servers[0].port.number']).toMatchObject({ code: 'SCHEMA', line: 11, message: 'must be integer, got string "443"', fix: 'write the number without quotes' });
    expect(byPath['spec.servers[0].tls.mode']).toMatchObject({ code: 'SCHEMA', line: 17, message: '"SIMPEL" is not a valid value' });
    expect(byPath['spec.servers[0].tls.mode']?.fix).toContain('SIMPLE, MUTUAL');
    expect(byPath['spec.servers[0].tls.credentialname']).toMatchObject({ code: 'SCHEMA', line: 18, column: 7, message: 'unknown field "credentialname"', fix: 'did you mean "credentialName"?' });
  });

  test('proto oneofs: setting two members is one error naming both', () => {
    const result = load(net('DestinationRule', { host: 'a.example.com', trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN', consistentHash: { useSourceIp: true } } } }));
    expect(errorLines(result)).toEqual(['spec.trafficPolicy.loadBalancer: only one of simple, consistentHash may be set']);
  });

  test('label keys with dots and slashes are quoted in paths', () => {
    const result = load(net('Gateway', { selector: { 'istio.io/rev': 17 }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] }));
    expect(errorLines(result)).toEqual(['spec.selector["istio.io/rev"]: must be string, got number 17']);
  });

  test('namespace defaults to "default"; cluster-scoped kinds have none', () => {
    const result = loadResources(GATEWAY.replace('  namespace: edge\n', '') + '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: edge\n', 'x.yaml');
    expect(result.errors).toEqual([]);
    expect(result.resources.map((r) => [r.kind, r.metadata.namespace])).toEqual([['Gateway', 'default'], ['Namespace', '']]);
  });

  test('JSON, a JSON array and a kubectl List are all accepted', () => {
    const gw = net('Gateway', { servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] }, 'json-gw');
    expect(loadResources(JSON.stringify(gw, null, '\t'), 'gw.json').resources.map((r) => r.metadata.name)).toEqual(['json-gw']);
    expect(loadResources(JSON.stringify([gw, { ...gw, metadata: { name: 'second' } }]), 'gws.json').resources.map((r) => r.metadata.name)).toEqual(['json-gw', 'second']);
    const list = loadResources(`apiVersion: v1\nkind: List\nitems:\n- ${JSON.stringify(gw)}\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: 7x_}\n`, 'list.yaml');
    expect(list.resources.map((r) => r.metadata.name)).toEqual(['json-gw']);
    expect(list.errors).toHaveLength(1);
    expect(list.errors[0]).toMatchObject({ path: 'metadata.name', line: 7, column: 14, resource: 'Namespace 7x_', message: 'invalid namespace name "7x_"' });
  });

  test('objects that are not resources, unknown API versions and missing names are errors', () => {
    expect(errorLines(loadResources('- a\n- b\n', 'x.yaml'))).toEqual([': document is string, not a Kubernetes-style object', ': document is string, not a Kubernetes-style object']);
    expect(errorLines(loadResources('apiVersion: v1\nmetadata: {name: a}\n', 'x.yaml'))).toEqual(['kind: kind is required']);
    const v2 = loadResources(GATEWAY.replace('v1beta1', 'v2'), 'x.yaml');
    expect(v2.errors).toHaveLength(1);
    expect(v2.errors[0]).toMatchObject({ code: 'UNSUPPORTED_VERSION', path: 'apiVersion', line: 1, message: 'Gateway does not exist in networking.istio.io/v2' });
    expect(v2.errors[0]?.fix).toBe('use one of networking.istio.io/v1alpha3, networking.istio.io/v1beta1, networking.istio.io/v1');
    expectOnlyError(load({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'a' } }), 'metadata.name', 'metadata.name is required');
  });

  test('v1 and v1alpha3 of a kind validate like v1beta1', () => {
    for (const version of ['v1alpha3', 'v1beta1', 'v1']) {
      const result = loadResources(GATEWAY.replace('v1beta1', version).replace('number: 443', 'number: 0'), 'x.yaml');
      expect(errorLines(result), version).toEqual(['spec.servers[0].port.number: port number 0 must be in the range 1..65535']);
    }
    const ap = loadResources('apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny}\nspec: {action: DENY}\n', 'x.yaml');
    expect(errorLines(ap)).toEqual(['spec.rules: a deny policy without `rules` is meaningless and has no effect']);
  });

  test('unsupported Istio kinds are ignored with a warning that says so', () => {
    const result = load({ apiVersion: 'networking.istio.io/v1beta1', kind: 'Sidecar', metadata: { name: 's' }, spec: {} });
    expect(result.errors).toEqual([]);
    expect(result.ignored).toHaveLength(1);
    expect(result.warnings[0]?.message).toBe('Sidecar (networking.istio.io/v1beta1) is not supported by Isthmus and has no effect');
  });

  test('the same resource twice is rejected, naming where the first one is', () => {
    const result = loadResources(`${GATEWAY}---\n${GATEWAY}`, 'twice.yaml');
    expect(result.resources).toHaveLength(1);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ code: 'DUPLICATE', document: 2, line: 20, resource: 'Gateway gw.edge' });
    expect(result.errors[0]?.message).toBe('Gateway gw.edge is already defined at twice.yaml:1 (document 1)');
  });

  test('validateObject works on objects from elsewhere (no lines)', () => {
    const result = validateObject(net('WorkloadEntry', {}, 'vm'), { source: 'kubernetes' });
    expect(result.resource).toBeUndefined();
    expect(result.errors).toEqual([
      { severity: 'error', code: 'SEMANTIC', source: 'kubernetes', kind: 'WorkloadEntry', name: 'vm', namespace: 'ns', resource: 'WorkloadEntry vm.ns', path: 'spec.address', message: 'address must be set', fix: 'set the IP address or host name of the workload' },
    ]);
  });
});

describe('loadResourceFiles', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isthmus-loader-'));
    await mkdir(join(dir, 'nested'));
    await mkdir(join(dir, '.hidden'));
    await writeFile(join(dir, 'a-gateway.yaml'), GATEWAY);
    await writeFile(join(dir, 'nested', 'b-ns.yml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: edge}\n');
    await writeFile(join(dir, 'nested', 'c.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } }));
    await writeFile(join(dir, 'notes.txt'), 'not config');
    await writeFile(join(dir, '.hidden', 'x.yaml'), ': broken');
    await writeFile(join(dir, 'dup.yaml'), GATEWAY);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('reads directories recursively in name order, skipping other extensions and hidden entries', async () => {
    const result = await loadResourceFiles([dir]);
    expect(result.resources.map((r) => `${r.kind}/${r.metadata.name}`)).toEqual(['Gateway/gw', 'Namespace/edge', 'Namespace/other']);
    // dup.yaml sorts after a-gateway.yaml: it is the one rejected.
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ code: 'DUPLICATE', source: join(dir, 'dup.yaml') });
  });

  test('non-recursive reads only the top level; missing paths are errors, not exceptions', async () => {
    const result = await loadResourceFiles([dir, join(dir, 'missing.yaml')], { recursive: false });
    expect(result.resources.map((r) => r.metadata.name)).toEqual(['gw']);
    const missing = result.errors.find((e) => e.code === 'READ_FAILED');
    expect(missing?.source).toBe(join(dir, 'missing.yaml'));
    expect(missing?.message).toContain('ENOENT');
  });

  test('a file named explicitly is read whatever its extension', async () => {
    const result = await loadResourceFiles([join(dir, 'notes.txt')]);
    expect(errorLines(result)).toEqual([': document is string, not a Kubernetes-style object']);
  });
});

describe('hostile input', () => {
  test('an alias bomb is an error in the result, not an exception or a hang', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const result = loadResources(`${lines.join('\n')}\n`, 'bomb.yaml');
    expect(result.resources).toEqual([]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ code: 'YAML_SYNTAX', source: 'bomb.yaml', document: 1 });
    expect(result.errors[0]?.message).toContain('YAML cannot be read');
  });
});

describe('YAML features kubectl accepts', () => {
  test('anchors and merge keys expand before validation', () => {
    const text = `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: gw}
spec:
  servers:
  - port: &port {number: 80, name: http, protocol: HTTP}
    hosts: ["a.example.com"]
  - port: {<<: *port, number: 8080, name: http-alt}
    hosts: ["b.example.com"]
`;
    const result = loadResources(text, 'anchors.yaml');
    expect(result.errors).toEqual([]);
    const gw = result.resources[0];
    expect(gw?.kind === 'Gateway' && gw.spec.servers.map((s) => s.port)).toEqual([
      { number: 80, name: 'http', protocol: 'HTTP' },
      { number: 8080, name: 'http-alt', protocol: 'HTTP' },
    ]);
  });
});
