// istioctl analyze over the seeds' own resources, with and without the Secrets the seed creates by hand.
import { beforeAll, describe, expect, test } from 'vitest';
import { analyze, exceedsThreshold, formatAnalysis } from '../../src/api/index.js';
import { genericSecret, loadSnapshot, MESH_A_FILES, MESH_B_FILES, opensslKeyPair, seed } from './helpers.js';
import type { KeyPair } from './helpers.js';

const CA_WARNING =
  'Warning [IST0129] (DestinationRule istio-ingress/dr-alb-ext) DestinationRule dr-alb-ext in namespace istio-ingress has TLS mode set to SIMPLE but no caCertificates are set to validate server identity for host: alb.jesus2.solo.io at port 443\n';

describe('seed 000: sharing a Lambda between two meshes', () => {
  let server: KeyPair;
  let client: KeyPair;
  beforeAll(async () => {
    // openssl req -x509 ... -keyout server.key -out server.crt / client.key client.crt, as in the seed.
    [server, client] = await Promise.all([
      opensslKeyPair('/C=NT/ST=Zamunda/O=Solo.io/OU=Solo.io/CN=*'),
      opensslKeyPair('/C=NT/ST=Wakanda/O=Solo.io/OU=Solo.io/CN=*'),
    ]);
  });

  test('mesh B without the mtls-credential Secret: the ingress Gateway references a missing credential', async () => {
    const { snapshot } = await loadSnapshot(MESH_B_FILES);
    const messages = analyze(snapshot);
    expect(formatAnalysis(messages)).toBe(
      'Error [IST0101] (Gateway istio-ingress/eastwestgateway) Referenced credentialName not found: "mtls-credential"\n' + CA_WARNING,
    );
    // The origin is the line of the field itself: credentialName is on line 19 of that file.
    expect(messages[0]).toMatchObject({ path: 'spec.servers[0].tls.credentialName', origin: { source: seed('000-7-mesh-b-gateway-virtualservice-lambda.yaml'), document: 1, line: 19, column: 9 } });
    expect(exceedsThreshold(messages)).toBe(true);
  });

  test('mesh B with the Secret from `kubectl create -n istio-ingress secret generic mtls-credential`: no errors', async () => {
    const secret = genericSecret('mtls-credential', 'istio-ingress', { key: server.key, cert: server.cert, cacert: client.cert });
    const { snapshot } = await loadSnapshot(MESH_B_FILES, [secret]);
    const workloads = [{ name: 'istio-ingressgateway', namespace: 'istio-ingress', labels: { app: 'istio-ingressgateway', istio: 'ingressgateway', 'istio.io/rev': '1-17' } }];
    const messages = analyze(snapshot, { gatewayWorkloads: workloads });
    // Only the ALB's TLS is unverified (Istio 1.17's default, VERIFY_CERTIFICATE_AT_CLIENT=false), a warning.
    expect(formatAnalysis(messages)).toBe(CA_WARNING);
    expect(exceedsThreshold(messages)).toBe(false);
    expect(exceedsThreshold(messages, 'Warning')).toBe(true);
  });

  test('mesh B with the Secret but the client CA missing: the MUTUAL gateway credential is invalid', async () => {
    const secret = genericSecret('mtls-credential', 'istio-ingress', { key: server.key, cert: server.cert });
    const { snapshot } = await loadSnapshot(MESH_B_FILES, [secret]);
    const errors = analyze(snapshot).filter((m) => m.level === 'Error');
    expect(errors.map((m) => m.code)).toEqual(['IST0161']);
    expect(errors[0]?.message).toContain('has no CA certificate ("cacert" or "ca.crt", here or in Secret mtls-credential-cacert)');
  });

  test('mesh A: with the egress Secret and the egress gateway service known, nothing to report', async () => {
    const secret = genericSecret('mtls-credential', 'istio-egress', { key: client.key, cert: client.cert, cacert: server.cert });
    const { snapshot } = await loadSnapshot(MESH_A_FILES, [secret]);
    const options = {
      knownHosts: ['istio-egressgateway.istio-egress.svc.cluster.local'],
      gatewayWorkloads: [{ name: 'istio-egressgateway', namespace: 'istio-egress', labels: { app: 'istio-egressgateway', istio: 'egressgateway', 'istio.io/rev': '1-17' } }],
    };
    expect(analyze(snapshot, options)).toEqual([]);
    expect(formatAnalysis([], { namespace: 'istio-egress' })).toBe('\u2714 No validation issues found when analyzing namespace: istio-egress.\n');
  });

  test('mesh A without them: the missing DestinationRule credential and the unknown egress gateway service', async () => {
    const { snapshot } = await loadSnapshot(MESH_A_FILES);
    expect(formatAnalysis(analyze(snapshot))).toBe(
      'Error [IST0101] (DestinationRule istio-egress/dr-lambda-ext) Referenced credentialName not found: "mtls-credential"\n' +
        'Error [IST0101] (VirtualService istio-egress/direct-lambda-through-egress-gateway) Referenced host not found: "istio-egressgateway.istio-egress.svc.cluster.local"\n',
    );
  });
});

describe('seed 003: VM through the east-west gateway', () => {
  test('the AUTO_PASSTHROUGH Gateway analyzes clean, and its selector matches the east-west workload', async () => {
    const { snapshot } = await loadSnapshot([seed('003-2-gateway-eastwest-auto-passthrough.yaml')]);
    expect(analyze(snapshot)).toEqual([]);
    const eastwest = [{ name: 'istio-eastwestgateway', namespace: 'istio-system', labels: { istio: 'eastwestgateway', app: 'istio-eastwestgateway' } }];
    expect(analyze(snapshot, { gatewayWorkloads: eastwest })).toEqual([]);
    expect(analyze(snapshot, { gatewayWorkloads: [] }).map((m) => m.message)).toEqual(['Referenced selector not found: "istio=eastwestgateway"']);
  });
});

describe('output forms', () => {
  test('messages are plain objects (for -o json|yaml) and the text form is istioctl\'s', async () => {
    const { snapshot } = await loadSnapshot(MESH_B_FILES);
    const messages = analyze(snapshot);
    expect(JSON.parse(JSON.stringify(messages))).toEqual(messages);
    expect(messages[0]).toEqual({
      code: 'IST0101',
      type: 'ReferencedResourceNotFound',
      level: 'Error',
      resource: 'Gateway eastwestgateway.istio-ingress',
      kind: 'Gateway',
      name: 'eastwestgateway',
      namespace: 'istio-ingress',
      message: 'Referenced credentialName not found: "mtls-credential"',
      path: 'spec.servers[0].tls.credentialName',
      origin: { source: seed('000-7-mesh-b-gateway-virtualservice-lambda.yaml'), document: 1, line: 19, column: 9 },
      documentationUrl: 'https://istio.io/latest/docs/reference/config/analysis/ist0101/',
    });
    expect(formatAnalysis(messages.slice(0, 1), { withSource: true })).toBe(
      `Error [IST0101] (Gateway istio-ingress/eastwestgateway ${seed('000-7-mesh-b-gateway-virtualservice-lambda.yaml')}:19) Referenced credentialName not found: "mtls-credential"\n`,
    );
  });

  test('sorted Error before Warning, then by code and resource, whatever the analyzer order', async () => {
    const { snapshot } = await loadSnapshot([...MESH_A_FILES, ...MESH_B_FILES]);
    const messages = analyze(snapshot);
    expect(messages.map((m) => `${m.level} ${m.code} ${m.kind} ${m.namespace}/${m.name}`)).toEqual([
      'Error IST0101 DestinationRule istio-egress/dr-lambda-ext',
      'Error IST0101 Gateway istio-ingress/eastwestgateway',
      'Error IST0101 VirtualService istio-egress/direct-lambda-through-egress-gateway',
      'Warning IST0129 DestinationRule istio-ingress/dr-alb-ext',
    ]);
  });
});
