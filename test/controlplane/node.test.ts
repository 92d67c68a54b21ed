// What the control plane reads from a proxy's xDS node: here, its instance ("pod") IP.
import { describe, expect, test } from 'vitest';
import { proxyNodeOf } from '../../src/controlplane/node.js';

describe('proxyNodeOf: the proxy IP', () => {
  test("an Istio node id's second field is the IP", () => {
    const node = proxyNodeOf({ id: 'router~127.0.10.2~istio-egressgateway-1.istio-egress~istio-egress.svc.cluster.local', metadata: {} });
    expect(node.ip).toBe('127.0.10.2');
    expect(node.type).toBe('router');
    expect(node.namespace).toBe('istio-egress');
  });

  test('INSTANCE_IPS (as istio-agent sends it) wins over the id; its first IP is used', () => {
    const node = proxyNodeOf({ id: 'sidecar~10.0.0.1~sleep-1.sleep~sleep.svc.cluster.local', metadata: { INSTANCE_IPS: '127.0.10.3,fd00::3' } });
    expect(node.ip).toBe('127.0.10.3');
  });

  test('IPv6 ids and INSTANCE_IPS entries that are not IPs', () => {
    expect(proxyNodeOf({ id: 'sidecar~fd00::5~a.b~b.svc.cluster.local' }).ip).toBe('fd00::5');
    expect(proxyNodeOf({ id: 'sidecar~10.1.2.3~a.b~b.svc.cluster.local', metadata: { INSTANCE_IPS: 'pod-ip' } }).ip).toBe('10.1.2.3');
  });

  test('no IP when the id is not in Istio form or its IP field is not an address', () => {
    expect(proxyNodeOf({ id: 'my-proxy' }).ip).toBeUndefined();
    expect(proxyNodeOf({ id: 'sidecar~localhost~a.b~b.svc.cluster.local' }).ip).toBeUndefined();
    expect('ip' in proxyNodeOf({ id: 'x~y' })).toBe(false);
  });
});
