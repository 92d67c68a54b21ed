import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse } from 'yaml';
import { loadResources } from '../../../src/api/index.js';
import {
  DEFAULT_EGRESS, DEFAULT_INGRESS, credentialSecret, defaultImportHost, exportSideResources, importSideResources, linkIdentities, linkNames, linkSlug,
  manifestsYaml, redactSecret, resolutionOf, selectorFromLabels,
} from '../../../src/controlplane/index.js';
import type { ExportPlan, LinkManifest } from '../../../src/controlplane/index.js';

const SEEDS = join(import.meta.dirname, '..', '..', 'fixtures', 'seeds');

const plan: ExportPlan = {
  service: { hostname: 'alb.jesus2.solo.io', port: 443 },
  host: 'lambda.external',
  from: { trustDomain: 'eks.local', ingress: { ...DEFAULT_INGRESS, selector: { app: 'istio-ingressgateway', istio: 'ingressgateway', 'istio.io/rev': '1-17' } } },
  to: {
    trustDomain: 'gke.local',
    egress: { ...DEFAULT_EGRESS, selector: { app: 'istio-egressgateway', istio: 'egressgateway', 'istio.io/rev': '1-17' } },
    egressServiceHost: 'istio-egressgateway.istio-egress.svc.cluster.local',
  },
};

const byKind = (list: readonly LinkManifest[], kind: string) => list.filter((m) => m.kind === kind);
const one = (list: readonly LinkManifest[], kind: string, name?: string) => {
  const found = byKind(list, kind).filter((m) => name === undefined || m.metadata.name === name);
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0] as LinkManifest;
};
/** Every generated resource passes the same loader and schema validation `apply` uses. */
const loads = (list: readonly LinkManifest[]) => {
  const result = loadResources(list.map((m) => `---\n${JSON.stringify(m)}`).join('\n'), 'generated');
  expect(result.errors).toEqual([]);
  expect(result.resources).toHaveLength(list.length);
};

describe('mesh export: names and identities', () => {
  it('derives names, slug, default host and SPIFFE ids', () => {
    expect(linkSlug('lambda.external')).toBe('lambda-external');
    expect(linkSlug('Foo_Bar.example.com')).toBe('foo-bar-example-com');
    expect(defaultImportHost('alb.jesus2.solo.io')).toBe('alb.external');
    const names = linkNames('lambda.external');
    expect(names.credential).toBe('lambda-external-mtls');
    expect(names.exportGateway).toBe('export-lambda-external');
    expect(names.egressVirtualService).toBe('import-lambda-external-egress');
    expect(linkIdentities(plan)).toEqual({
      server: 'spiffe://eks.local/ns/istio-ingress/sa/istio-ingressgateway-service-account',
      client: 'spiffe://gke.local/ns/istio-egress/sa/istio-egressgateway-service-account',
    });
  });

  it("selects on the seed's gateway labels when a proxy reports them", () => {
    expect(selectorFromLabels({ app: 'istio-ingressgateway', istio: 'ingressgateway', 'istio.io/rev': '1-17', 'pod-template-hash': 'x' }))
      .toEqual({ app: 'istio-ingressgateway', istio: 'ingressgateway', 'istio.io/rev': '1-17' });
    expect(selectorFromLabels({ gw: 'mine' })).toEqual({ gw: 'mine' });
  });

  it('resolution follows the address: STATIC for IPs, DNS for names', () => {
    expect(resolutionOf('127.0.0.1')).toBe('STATIC');
    expect(resolutionOf('2001:db8::1')).toBe('STATIC');
    expect(resolutionOf('a1b2.elb.amazonaws.com')).toBe('DNS');
  });
});

describe('mesh export: the exporting side (--from)', () => {
  const resources = exportSideResources(plan);

  it('an HTTPS MUTUAL server for the name on the ingress gateway, accepting only the egress gateway identity', () => {
    expect(resources.map((r) => r.kind)).toEqual(['Gateway', 'VirtualService']);
    const gw = one(resources, 'Gateway');
    expect(gw.metadata).toMatchObject({ name: 'export-lambda-external', namespace: 'istio-ingress', labels: { 'isthmus.io/link': 'lambda-external' } });
    expect(gw.spec).toEqual({
      selector: { app: 'istio-ingressgateway', istio: 'ingressgateway', 'istio.io/rev': '1-17' },
      servers: [{
        hosts: ['lambda.external'],
        port: { name: 'https', number: 443, protocol: 'HTTPS' },
        tls: { mode: 'MUTUAL', credentialName: 'lambda-external-mtls', subjectAltNames: ['spiffe://gke.local/ns/istio-egress/sa/istio-egressgateway-service-account'] },
      }],
    });
  });

  it('a VirtualService from the name to the service and port, bound to that gateway only', () => {
    const vs = one(resources, 'VirtualService');
    expect(vs.metadata.namespace).toBe('istio-ingress');
    expect(vs.spec).toEqual({
      exportTo: ['.'],
      gateways: ['export-lambda-external'],
      hosts: ['lambda.external'],
      http: [{ match: [{ uri: { prefix: '/' } }], route: [{ destination: { host: 'alb.jesus2.solo.io', port: { number: 443 } } }] }],
    });
    loads(resources);
  });
});

describe('mesh export: the importing side (--to)', () => {
  const resources = importSideResources(plan, { address: '203.0.113.10', port: 443 });

  it('the name as plain HTTP on port 80, its endpoint the exporter ingress gateway', () => {
    const se = one(resources, 'ServiceEntry');
    expect(se.metadata).toMatchObject({ name: 'import-lambda-external', namespace: 'istio-egress' });
    expect(se.spec).toEqual({
      hosts: ['lambda.external'],
      ports: [{ name: 'http', number: 80, protocol: 'HTTP' }],
      resolution: 'STATIC',
      endpoints: [{ address: '203.0.113.10', ports: { http: 443 } }],
    });
    const byName = importSideResources(plan, { address: 'ingress.eks.example', port: 8443 });
    expect(one(byName, 'ServiceEntry').spec).toMatchObject({ resolution: 'DNS', endpoints: [{ address: 'ingress.eks.example', ports: { http: 8443 } }] });
  });

  it("mutual TLS origination with the credential, SNI the name, and the server's SPIFFE id checked", () => {
    const dr = one(resources, 'DestinationRule', 'import-lambda-external');
    expect(dr.spec).toEqual({
      host: 'lambda.external',
      trafficPolicy: {
        portLevelSettings: [{
          port: { number: 80 },
          tls: { mode: 'MUTUAL', credentialName: 'lambda-external-mtls', sni: 'lambda.external', subjectAltNames: ['spiffe://eks.local/ns/istio-ingress/sa/istio-ingressgateway-service-account'] },
        }],
      },
    });
  });

  it("the egress gateway Gateway, subset DestinationRule and VirtualService are the seed's (000-9) but for their names", () => {
    const seed = parseAllDocuments(readFileSync(join(SEEDS, '000-9-mesh-a-egress-gateway-virtualservice.yaml'), 'utf8')).map((d) => d.toJS() as LinkManifest);
    // The seed's subset "lambda" and Gateway "istio-egressgateway" carry the link's names here.
    const rename = (text: string) => text
      .replace(/"name":"lambda"/g, '"name":"lambda-external"')
      .replace(/"subset":"lambda"/g, '"subset":"lambda-external"')
      .replace(/"gateways":\[[^\]]*\]/g, (list) => list.replace('"istio-egressgateway"', '"import-lambda-external-egress"'));
    const seedGateway = JSON.parse(rename(JSON.stringify(one(seed, 'Gateway').spec)));
    const seedDr = JSON.parse(rename(JSON.stringify(one(seed, 'DestinationRule').spec)));
    const seedVs = JSON.parse(rename(JSON.stringify(one(seed, 'VirtualService').spec)));
    expect(one(resources, 'Gateway').spec).toEqual(seedGateway);
    expect(one(resources, 'DestinationRule', 'import-lambda-external-egress').spec).toEqual(seedDr);
    expect(one(resources, 'VirtualService').spec).toEqual(seedVs);
    for (const r of resources) expect(r.metadata.namespace).toBe('istio-egress');
    loads(resources);
  });
});

describe('mesh export: credential secrets and printing', () => {
  const secret = credentialSecret('lambda-external-mtls', 'istio-egress', 'lambda-external', {
    certificateChainPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
    privateKeyPem: '-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n',
    caPem: '-----BEGIN CERTIFICATE-----\nCCCC\n-----END CERTIFICATE-----\n',
  });

  it("Istio's generic layout (key, cert, cacert), base64", () => {
    expect(secret).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'lambda-external-mtls', namespace: 'istio-egress' } });
    expect(Buffer.from(secret.data?.['cacert'] ?? '', 'base64').toString()).toContain('CCCC');
  });

  it('redacts the private key only, and prints multi-document YAML under a comment', () => {
    const shown = redactSecret(secret);
    expect(shown.data?.['key']).toBe('REDACTED');
    expect(shown.data?.['cert']).toBe(secret.data?.['cert']);
    const text = manifestsYaml(['eks (--from)', 'second line'], [...exportSideResources(plan), shown]);
    expect(text.startsWith('# eks (--from)\n# second line\n---\n')).toBe(true);
    const docs = parseAllDocuments(text).map((d) => d.toJS() as LinkManifest);
    expect(docs.map((d) => d.kind)).toEqual(['Gateway', 'VirtualService', 'Secret']);
    expect(text).not.toContain('BBBB');
    expect(parse(text.split('---\n')[3] ?? '')).toMatchObject({ data: { key: 'REDACTED' } });
  });
});
