// Analyzers for TLS: gateway credentials, DestinationRule origination, conflicting gateway servers.
import { beforeAll, describe, expect, test } from 'vitest';
import { analyze, buildSnapshot } from '../../src/api/index.js';
import type { AnalysisMessage, AnalyzeOptions, DestinationRuleResource, IstioResource } from '../../src/api/index.js';
import { genericSecret, load, net, opensslKeyPair } from './helpers.js';
import type { KeyPair } from './helpers.js';

function loaded(docs: unknown[]): IstioResource[] {
  const result = load(...docs);
  expect(result.errors).toEqual([]);
  return result.resources;
}

function run(docs: unknown[], options: AnalyzeOptions = {}, extra: IstioResource[] = []): AnalysisMessage[] {
  return analyze(buildSnapshot([...loaded(docs), ...extra]), options);
}

const brief = (m: AnalysisMessage) => `${m.level} ${m.code} ${m.resource} ${m.path ?? ''}: ${m.message}`;

const gateway = (name: string, ns: string, tls: Record<string, unknown>, hosts = ['app.example.com'], selector: Record<string, string> = { istio: 'ingressgateway' }, port = 443) =>
  net('Gateway', { selector, servers: [{ port: { number: port, name: 'https', protocol: 'HTTPS' }, hosts, tls }] }, name, ns);

describe('gateway.secrets', () => {
  let server: KeyPair;
  let client: KeyPair;
  beforeAll(async () => {
    [server, client] = await Promise.all([opensslKeyPair('/CN=server'), opensslKeyPair('/CN=client')]);
  });

  test('credentialName with no Secret in the gateway namespace (IST0101)', () => {
    const messages = run([gateway('gw', 'edge', { mode: 'SIMPLE', credentialName: 'app-cert' }), genericSecret('app-cert', 'elsewhere', { key: server.key, cert: server.cert })]);
    expect(messages.map(brief)).toEqual(['Error IST0101 Gateway gw.edge spec.servers[0].tls.credentialName: Referenced credentialName not found: "app-cert"']);
  });

  test('a usable Secret in the gateway namespace: nothing to report', () => {
    expect(run([gateway('gw', 'edge', { mode: 'SIMPLE', credentialName: 'app-cert' }), genericSecret('app-cert', 'edge', { key: server.key, cert: server.cert })])).toEqual([]);
  });

  test('MUTUAL needs a CA; a <name>-cacert Secret provides it', () => {
    const docs = [gateway('gw', 'edge', { mode: 'MUTUAL', credentialName: 'mtls' }), genericSecret('mtls', 'edge', { key: server.key, cert: server.cert })];
    const messages = run(docs);
    expect(messages.map(brief)).toEqual([
      'Error IST0161 Gateway gw.edge spec.servers[0].tls.credentialName: The credential provided by the Gateway gw in namespace edge is invalid, which can cause traffic not to work as expected: Secret edge/mtls has no CA certificate ("cacert" or "ca.crt", here or in Secret mtls-cacert) (found: cert, key)',
    ]);
    expect(run([...docs, genericSecret('mtls-cacert', 'edge', { cacert: client.cert })])).toEqual([]);
  });

  test('a key that does not match the certificate is an invalid credential (IST0161)', () => {
    const messages = run([gateway('gw', 'edge', { mode: 'SIMPLE', credentialName: 'c' }), genericSecret('c', 'edge', { key: client.key, cert: server.cert })]);
    expect(messages.map((m) => m.code)).toEqual(['IST0161']);
    expect(messages[0]?.message).toContain('the private key does not belong to the certificate');
  });

  test('the Secret is looked up where the gateway workload runs, when known', () => {
    const docs = [gateway('gw', 'edge', { mode: 'SIMPLE', credentialName: 'c' }), genericSecret('c', 'edge', { key: server.key, cert: server.cert })];
    const options = { gatewayWorkloads: [{ name: 'ingress', namespace: 'istio-ingress', labels: { istio: 'ingressgateway' } }] };
    expect(run(docs, options).map(brief)).toEqual([
      'Error IST0101 Gateway gw.edge spec.servers[0].tls.credentialName: Referenced credentialName not found: "c" (looked in namespace "istio-ingress", where the gateway runs)',
    ]);
    expect(run([...docs, genericSecret('c', 'istio-ingress', { key: server.key, cert: server.cert })], options)).toEqual([]);
  });
});

describe('gateway.conflictinggateways (IST0145)', () => {
  const tls = { mode: 'SIMPLE', serverCertificate: '/c', privateKey: '/k' };

  test('two Gateways on the same selector claim the same port and an overlapping host', () => {
    const messages = run([gateway('alpha', 'edge', tls, ['*.example.com']), gateway('beta', 'other', tls, ['other/app.example.com'])]);
    expect(messages.map(brief)).toEqual([
      'Error IST0145 Gateway alpha.edge spec.servers[0]: Conflict with gateways other/beta (workload selector istio=ingressgateway, port 443, hosts *.example.com).',
      'Error IST0145 Gateway beta.other spec.servers[0]: Conflict with gateways edge/alpha (workload selector istio=ingressgateway, port 443, hosts app.example.com).',
    ]);
  });

  test('different hosts, ports or proxies do not conflict', () => {
    expect(run([gateway('alpha', 'edge', tls, ['a.example.com']), gateway('beta', 'edge', tls, ['b.example.com'])])).toEqual([]);
    expect(run([gateway('alpha', 'edge', tls), gateway('beta', 'edge', tls, ['app.example.com'], { istio: 'ingressgateway' }, 8443)])).toEqual([]);
    expect(run([gateway('alpha', 'edge', tls), gateway('beta', 'edge', tls, ['app.example.com'], { istio: 'eastwestgateway' })])).toEqual([]);
  });

  test('different selectors that pick the same known workload do conflict', () => {
    const workloads = [{ name: 'gw', namespace: 'edge', labels: { istio: 'ingressgateway', app: 'edge' } }];
    const messages = run([gateway('alpha', 'edge', tls), gateway('beta', 'edge', tls, ['app.example.com'], { app: 'edge' })], { gatewayWorkloads: workloads });
    expect(messages.map((m) => `${m.code} ${m.name}`)).toEqual(['IST0145 alpha', 'IST0145 beta']);
  });
});

describe('destinationrule.tls', () => {
  let client: KeyPair;
  let server: KeyPair;
  beforeAll(async () => {
    [client, server] = await Promise.all([opensslKeyPair('/CN=client'), opensslKeyPair('/CN=server')]);
  });
  const dr = (tls: Record<string, unknown>, portLevel = true) =>
    net('DestinationRule', { host: 'api.example.com', trafficPolicy: portLevel ? { portLevelSettings: [{ port: { number: 80 }, tls }] } : { tls } }, 'dr', 'egress');

  test('MUTUAL without credentialName or client certificate (ISM0001), from a source that skipped validation', () => {
    const unvalidated: DestinationRuleResource = {
      apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'raw', namespace: 'egress' },
      spec: { host: 'api.example.com', trafficPolicy: { tls: { mode: 'MUTUAL', caCertificates: '/ca.pem' } } },
    };
    expect(run([], {}, [unvalidated]).map(brief)).toEqual([
      'Error ISM0001 DestinationRule raw.egress spec.trafficPolicy.tls: TLS mode MUTUAL to api.example.com has no client certificate to present: set credentialName to a Secret with key and cert, or clientCertificate and privateKey',
    ]);
    expect(run([dr({ mode: 'MUTUAL', clientCertificate: '/c', privateKey: '/k', caCertificates: '/ca' })])).toEqual([]);
  });

  test('credentialName with no Secret in the rule\'s namespace (IST0101); with one, nothing', () => {
    const rule = dr({ mode: 'MUTUAL', credentialName: 'mtls-credential', sni: 'api.example.com' });
    expect(run([rule]).map(brief)).toEqual(['Error IST0101 DestinationRule dr.egress spec.trafficPolicy.portLevelSettings[0].tls.credentialName: Referenced credentialName not found: "mtls-credential"']);
    expect(run([rule, genericSecret('mtls-credential', 'egress', { key: client.key, cert: client.cert, cacert: server.cert })])).toEqual([]);
  });

  test('a credential Secret without a key pair for MUTUAL (ISM0002)', () => {
    const messages = run([dr({ mode: 'MUTUAL', credentialName: 'ca-only' }), genericSecret('ca-only', 'egress', { cacert: server.cert })]);
    expect(messages.map(brief)).toEqual([
      'Error ISM0002 DestinationRule dr.egress spec.trafficPolicy.portLevelSettings[0].tls.credentialName: The credential for TLS origination to api.example.com is invalid: Secret egress/ca-only has no private key ("key" or "tls.key") and no certificate ("cert" or "tls.crt") (found: cacert)',
    ]);
  });

  test('TLS with nothing to verify the server: IST0129 at port level, IST0128 for the whole host', () => {
    expect(run([dr({ mode: 'SIMPLE' })]).map(brief)).toEqual([
      'Warning IST0129 DestinationRule dr.egress spec.trafficPolicy.portLevelSettings[0].tls: DestinationRule dr in namespace egress has TLS mode set to SIMPLE but no caCertificates are set to validate server identity for host: api.example.com at port 80',
    ]);
    expect(run([dr({ mode: 'SIMPLE' }, false)]).map((m) => `${m.level} ${m.code}`)).toEqual(['Error IST0128']);
  });

  test('a CA, insecureSkipVerify or verifyCertificateAtClient silences the CA check', () => {
    expect(run([dr({ mode: 'SIMPLE', caCertificates: '/ca.pem' })])).toEqual([]);
    expect(run([dr({ mode: 'SIMPLE', insecureSkipVerify: true })])).toEqual([]);
    expect(run([dr({ mode: 'SIMPLE' }), { apiVersion: 'isthmus.io/v1alpha1', kind: 'MeshConfig', metadata: { name: 'mesh' }, spec: { verifyCertificateAtClient: true } }])).toEqual([]);
    expect(run([dr({ mode: 'SIMPLE', credentialName: 'ca' }), genericSecret('ca', 'egress', { 'ca.crt': server.cert })])).toEqual([]);
  });
});
