// Kubernetes v1 Service: a supported kind whose ports and selector make a mesh service; its other fields are accepted and ignored.
import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { analyze, buildSnapshot, loadResources } from '../../src/api/index.js';
import { errorLines, load, net, seed } from './helpers.js';

const svc = (spec: unknown, name = 'istio-egressgateway', namespace = 'istio-egress') => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec });

describe('Service', () => {
  test("the seed's istiod Service loads as written (type ClusterIP, four named ports, one with a targetPort)", async () => {
    const result = loadResources(await readFile(seed('000-3-mesh-a-service-istiod.yaml'), 'utf8'), 'istiod.yaml');
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.ignored).toEqual([]);
    const istiod = result.resources[0];
    expect(istiod?.kind).toBe('Service');
    expect(istiod?.kind === 'Service' && istiod.spec.ports?.map((p) => `${p.name} ${p.port}->${p.targetPort ?? '-'}`)).toEqual([
      'grpc-xds 15010->-', 'https-dns 15012->-', 'https-webhook 443->15017', 'http-monitoring 15014->-',
    ]);
    const snapshot = buildSnapshot(result.resources);
    expect(snapshot.services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`)).toEqual(['istio-system/istiod']);
  });

  test('an egress gateway Service with appProtocol, a named targetPort and the fields Kubernetes assigns loads', () => {
    const result = load(svc({
      type: 'ClusterIP', clusterIP: '10.96.0.12', clusterIPs: ['10.96.0.12'], sessionAffinity: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
      selector: { app: 'istio-egressgateway', istio: 'egressgateway' },
      ports: [
        { name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP' },
        { name: 'https', port: 443, targetPort: 'https-port', appProtocol: 'https' },
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: '5353' },
      ],
    }));
    expect(errorLines(result)).toEqual([]);
    expect(result.resources.map((r) => r.kind)).toEqual(['Service']);
  });

  test('bad ports are errors naming the Service, the field path and the fix', () => {
    const result = load(svc({
      selector: { app: 'x' },
      ports: [
        { name: 'http', port: 0 },
        { name: 'http', port: 81, protocol: 'HTTP' },
        { port: 82 },
        { name: 'tcp', port: 83, targetPort: 70000 },
        { name: 'tcp-2', port: 84, targetPort: 'Not_A_Name' },
        { name: 'Web', port: 85 },
      ],
    }));
    expect(errorLines(result)).toEqual([
      'spec.ports[0].port: port number 0 must be in the range 1..65535',
      'spec.ports[1].protocol: protocol "HTTP" is not supported',
      'spec.ports[1].name: port name "http" is already used by spec.ports[0]',
      'spec.ports[2].name: a Service with more than one port needs a name for each',
      'spec.ports[3].targetPort: targetPort 70000 must be in the range 1..65535',
      'spec.ports[4].targetPort: targetPort "Not_A_Name" is not a port number or a port name',
      'spec.ports[5].name: invalid port name "Web"',
    ]);
    expect(result.errors[0]).toMatchObject({ resource: 'Service istio-egressgateway.istio-egress', code: 'SEMANTIC', line: expect.any(Number) });
    expect(result.errors[1]?.fix).toContain('appProtocol');
    expect(result.resources).toEqual([]);
  });

  test('a missing port number, a string port and a non-string selector value are schema errors', () => {
    expect(errorLines(load(svc({ ports: [{ name: 'http' }] })))).toEqual(['spec.ports[0].port: port number is required']);
    expect(errorLines(load(svc({ ports: [{ name: 'http', port: '80' }] })))).toEqual(['spec.ports[0].port: must be integer, got string']);
    expect(errorLines(load(svc({ selector: { app: 1 }, ports: [{ port: 80 }] })))).toEqual(['spec.selector.app: must be string, got integer']);
  });

  test('a misspelt field is refused with a suggestion', () => {
    const result = load(svc({ selectr: { app: 'x' }, ports: [{ port: 80, targetport: 8080 }] }));
    expect(result.errors.map((e) => `${e.path}: ${e.message} (${e.fix})`)).toEqual([
      'spec.selectr: unknown field "selectr" (did you mean "selector"?)',
      'spec.ports[0].targetport: unknown field "targetport" (did you mean "targetPort"?)',
    ]);
  });

  test('the name must be a DNS label (it is the first label of the host name)', () => {
    expect(errorLines(load(svc({ ports: [{ port: 80 }] }, 'egress.gateway')))).toEqual(['metadata.name: invalid Service name "egress.gateway"']);
    expect(errorLines(load(svc({ ports: [{ port: 80 }] }, '1gateway')))).toEqual(['metadata.name: invalid Service name "1gateway"']);
  });

  test('an unknown apiVersion for Service is refused', () => {
    const result = load({ ...svc({ ports: [{ port: 80 }] }), apiVersion: 'v2' });
    expect(result.errors.map((e) => `${e.code} ${e.message}`)).toEqual(['UNSUPPORTED_VERSION Service does not exist in v2']);
  });

  test('analyze: a VirtualService destination that a Service defines is a known host', () => {
    const vs = net('VirtualService', { hosts: ['lambda.external'], http: [{ route: [{ destination: { host: 'istio-egressgateway', port: { number: 80 } } }] }] }, 'vs', 'istio-egress');
    const without = load(vs);
    expect(analyze(buildSnapshot(without.resources)).map((m) => `${m.code} ${m.message}`)).toEqual(['IST0101 Referenced host not found: "istio-egressgateway.istio-egress.svc.cluster.local"']);
    const withService = load(vs, svc({ selector: { app: 'istio-egressgateway' }, ports: [{ name: 'http2', port: 80, targetPort: 8080 }] }));
    expect(withService.errors).toEqual([]);
    expect(analyze(buildSnapshot(withService.resources))).toEqual([]);
  });
});
