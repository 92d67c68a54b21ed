// Kubernetes Services -> mesh services: host names, Istio's protocol inference, and connected proxies as endpoints.
import { describe, expect, test } from 'vitest';
import type { ServiceResource } from '../../../src/api/index.js';
import { kubernetesPortProtocol, meshServiceOf } from '../../../src/controlplane/registry/index.js';
import { translate } from '../../../src/controlplane/translate/index.js';
import type { ProxyNode } from '../../../src/controlplane/translate/index.js';

const egressService: ServiceResource = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'istio-egressgateway', namespace: 'istio-egress' },
  spec: { type: 'ClusterIP', selector: { app: 'istio-egressgateway' }, ports: [{ name: 'http2', port: 80, targetPort: 8080 }, { name: 'https', port: 443, targetPort: 'https' }] },
};

const gateway: ProxyNode = {
  id: 'router~127.0.10.2~egress-1.istio-egress~istio-egress.svc.cluster.local',
  type: 'router',
  namespace: 'istio-egress',
  labels: { app: 'istio-egressgateway', istio: 'egressgateway' },
  ip: '127.0.10.2',
  portMap: { 443: 8443 },
  serviceAccount: 'istio-egressgateway-service-account',
  network: 'network1',
};

describe('kubernetesPortProtocol (Istio kube.ConvertProtocol)', () => {
  test.each([
    [{ name: 'http2', port: 80 }, 'HTTP2'],
    [{ name: 'http-web', port: 80 }, 'HTTP'],
    [{ name: 'grpc', port: 80 }, 'GRPC'],
    [{ name: 'grpc-web-ui', port: 80 }, 'GRPC-WEB'],
    [{ name: 'https-dns', port: 443 }, 'HTTPS'],
    [{ name: 'tls-passthrough', port: 15443 }, 'TLS'],
    [{ name: 'tcp-db', port: 5432 }, 'TCP'],
    [{ name: 'status-port', port: 15021 }, 'UNSUPPORTED'],
    [{ name: 'web', port: 80, appProtocol: 'http' }, 'HTTP'],
    [{ name: 'http-web', port: 80, appProtocol: 'kubernetes.io/h2c' }, 'HTTP2'],
    [{ name: 'web', port: 80, appProtocol: 'kubernetes.io/wss' }, 'HTTPS'],
    [{ name: 'http-dns', port: 53, protocol: 'UDP' as const }, 'UDP'],
  ])('%j -> %s', (port, protocol) => {
    expect(kubernetesPortProtocol(port)).toBe(protocol);
  });
});

describe('meshServiceOf', () => {
  test('host, ports and the matching proxy as endpoint (IP, target ports, labels, service account, network)', () => {
    const sidecar: ProxyNode = { id: 'sidecar~127.0.10.3~sleep-1.istio-egress~istio-egress.svc.cluster.local', type: 'sidecar', namespace: 'istio-egress', labels: { app: 'sleep' }, ip: '127.0.10.3' };
    const svc = meshServiceOf(egressService, [gateway, sidecar]);
    expect(svc).toEqual({
      hostname: 'istio-egressgateway.istio-egress.svc.cluster.local',
      namespace: 'istio-egress',
      ports: [{ name: 'http2', number: 80, protocol: 'HTTP2', targetPort: 8080 }, { name: 'https', number: 443, protocol: 'HTTPS' }],
      // A named targetPort is the container port, which only the gateway's port map tells.
      endpoints: [{ address: '127.0.10.2', ports: { http2: 8080, https: 8443 }, labels: gateway.labels, network: 'network1', serviceAccount: 'istio-egressgateway-service-account' }],
      selector: { app: 'istio-egressgateway' },
    });
  });

  test('only proxies with an IP, in the Service namespace, whose labels match; a Service without selector has none', () => {
    const elsewhere = { ...gateway, id: 'b', namespace: 'default', ip: '127.0.10.4' };
    const noIp: ProxyNode = { ...gateway, id: 'c' };
    delete (noIp as { ip?: string }).ip;
    const proxyless: ProxyNode = { ...gateway, id: 'd', type: 'proxyless', ip: '127.0.10.5' };
    const second = { ...gateway, id: 'e', ip: '127.0.10.1' };
    expect(meshServiceOf(egressService, [gateway, elsewhere, noIp, proxyless, second]).endpoints?.map((e) => e.address)).toEqual(['127.0.10.1', '127.0.10.2']);
    const { selector: _s, ...noSelector } = egressService.spec;
    expect(meshServiceOf({ ...egressService, spec: noSelector }, [gateway]).endpoints).toEqual([]);
  });

  test('domain suffix and the networking.istio.io/exportTo annotation', () => {
    const svc = meshServiceOf({ ...egressService, metadata: { ...egressService.metadata, annotations: { 'networking.istio.io/exportTo': '., istio-system' } } }, [], 'mesh.internal');
    expect(svc.hostname).toBe('istio-egressgateway.istio-egress.svc.mesh.internal');
    expect(svc.exportTo).toEqual(['.', 'istio-system']);
  });

  test('translated for a sidecar: an EDS cluster per port whose load assignment is the gateway at its target port', () => {
    const sleep: ProxyNode = { id: 'sidecar~127.0.10.3~sleep-1.sleep~sleep.svc.cluster.local', type: 'sidecar', namespace: 'sleep', ip: '127.0.10.3' };
    const result = translate({}, sleep, { meshServices: [meshServiceOf(egressService, [gateway])], healthListeners: false });
    const name = 'outbound|80||istio-egressgateway.istio-egress.svc.cluster.local';
    expect(result.clusters.find((c) => c.name === name)?.type).toBe('EDS');
    const cla = result.endpoints.find((e) => e.cluster_name === name);
    expect(cla?.endpoints?.[0]?.lb_endpoints?.map((e) => e.endpoint?.address?.socket_address)).toEqual([{ address: '127.0.10.2', port_value: 8080 }]);
    const tls = result.endpoints.find((e) => e.cluster_name === 'outbound|443||istio-egressgateway.istio-egress.svc.cluster.local');
    expect(tls?.endpoints?.[0]?.lb_endpoints?.[0]?.endpoint?.address?.socket_address).toEqual({ address: '127.0.10.2', port_value: 8443 });
  });
});
