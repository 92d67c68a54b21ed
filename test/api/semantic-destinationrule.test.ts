// Istio's DestinationRule rules, each with its exact field path.
import { describe, expect, test } from 'vitest';
import { errorLines, expectOnlyError, load, net } from './helpers.js';

const dr = (spec: Record<string, unknown>) => net('DestinationRule', { host: 'app.example.com', ...spec }, 'dr', 'shop');

describe('DestinationRule validation', () => {
  test('valid rules pass: port-level MUTUAL with credentialName and sni, subsets, SIMPLE with a CA file', () => {
    const result = load(
      dr({
        trafficPolicy: {
          loadBalancer: { simple: 'LEAST_REQUEST' },
          connectionPool: { tcp: { maxConnections: 10, connectTimeout: '0.5s' } },
          portLevelSettings: [
            { port: { number: 80 }, tls: { mode: 'MUTUAL', credentialName: 'mtls-credential', sni: 'app.example.com' } },
            { port: { number: 443 }, tls: { mode: 'SIMPLE', caCertificates: '/etc/ca.pem' } },
          ],
        },
        subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'lambda' }],
      }),
    );
    expect(result.errors).toEqual([]);
    expect(result.resources).toHaveLength(1);
  });

  test('needs a host', () => {
    expectOnlyError(load(net('DestinationRule', { subsets: [{ name: 'a' }] }, 'dr')), 'spec.host', 'host is required');
    expectOnlyError(load(dr({ host: 'bad host' })), 'spec.host', 'domain name "bad host" invalid');
  });

  test('subset names are unique DNS labels', () => {
    const e = expectOnlyError(load(dr({ subsets: [{ name: 'v1' }, { name: 'v2' }, { name: 'v1' }] })), 'spec.subsets[2].name', 'duplicate subset names: v1 (also subsets[0])');
    expect(e.fix).toBe('give each subset a unique name');
    expectOnlyError(load(dr({ subsets: [{ name: 'V_1' }] })), 'spec.subsets[0].name', 'subset name is invalid: V_1');
    expectOnlyError(load(dr({ subsets: [{ labels: { a: 'b' } }] })), 'spec.subsets[0].name', 'subset name cannot be empty');
  });

  test('tls mode values are Istio\'s', () => {
    const e = expectOnlyError(load(dr({ trafficPolicy: { tls: { mode: 'STRICT' } } })), 'spec.trafficPolicy.tls.mode', '"STRICT" is not a valid value');
    expect(e.fix).toBe('use one of DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL');
  });

  test('MUTUAL without credentialName needs clientCertificate and privateKey', () => {
    expect(errorLines(load(dr({ trafficPolicy: { tls: { mode: 'MUTUAL' } } })))).toEqual([
      'spec.trafficPolicy.tls.clientCertificate: client certificate required for mutual tls',
      'spec.trafficPolicy.tls.privateKey: private key required for mutual tls',
    ]);
    expectOnlyError(load(dr({ trafficPolicy: { tls: { mode: 'MUTUAL', credentialName: 'c', privateKey: '/k.pem' } } })), 'spec.trafficPolicy.tls.privateKey', 'cannot specify client certificates or CA certificate if credentialName is set');
    expectOnlyError(load(dr({ trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL', caCertificates: '/ca.pem' } } })), 'spec.trafficPolicy.tls.caCertificates', 'ISTIO_MUTUAL TLS cannot have associated caCertificates');
  });

  test('portLevelSettings need valid, distinct port numbers and at least one setting', () => {
    expectOnlyError(load(dr({ trafficPolicy: { portLevelSettings: [{ port: { number: 0 }, tls: { mode: 'SIMPLE' } }] } })), 'spec.trafficPolicy.portLevelSettings[0].port.number', 'port number 0 must be in the range 1..65535');
    expectOnlyError(load(dr({ trafficPolicy: { portLevelSettings: [{ tls: { mode: 'SIMPLE' } }] } })), 'spec.trafficPolicy.portLevelSettings[0].port.number', 'portTrafficPolicy must have valid port');
    expectOnlyError(load(dr({ trafficPolicy: { portLevelSettings: [{ port: { number: 80 } }] } })), 'spec.trafficPolicy.portLevelSettings[0]', 'port traffic policy must have at least one field');
    expectOnlyError(
      load(dr({ trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'SIMPLE' } }, { port: { number: 80 }, tls: { mode: 'DISABLE' } }] } })),
      'spec.trafficPolicy.portLevelSettings[1].port.number',
      'port 80 already has settings in portLevelSettings[0]',
    );
  });

  test('subset traffic policies are checked the same way', () => {
    expectOnlyError(load(dr({ subsets: [{ name: 'v1', trafficPolicy: { tls: { mode: 'MUTUAL', clientCertificate: '/c.pem' } } }] })), 'spec.subsets[0].trafficPolicy.tls.privateKey', 'private key required for mutual tls');
    expectOnlyError(load(dr({ trafficPolicy: {} })), 'spec.trafficPolicy', 'traffic policy must have at least one field');
  });

  test('connection pool, outlier detection, cookies and exportTo', () => {
    expectOnlyError(load(dr({ trafficPolicy: { connectionPool: { tcp: { connectTimeout: '10ms' } } } })), 'spec.trafficPolicy.connectionPool.tcp.connectTimeout', 'invalid duration "10ms"');
    expectOnlyError(load(dr({ trafficPolicy: { outlierDetection: { maxEjectionPercent: 150 } } })), 'spec.trafficPolicy.outlierDetection.maxEjectionPercent', 'percentage 150 is not in range 0..100');
    expectOnlyError(load(dr({ trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: 'session' } } } } })), 'spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.ttl', 'ttl required for HttpCookie');
    expectOnlyError(load(dr({ exportTo: ['*', 'shop'] })), 'spec.exportTo', 'cannot have both public (*) and non-public exportTo values');
  });
});
