// Every Istio resource of both seeds is an acceptance case: it must load and validate exactly as written.
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { loadResourceFiles, loadResources } from '../../src/api/index.js';
import { SEEDS, seed } from './helpers.js';

describe('seed fixtures', () => {
  test('every document of every seed block loads with no error', async () => {
    const result = await loadResourceFiles([SEEDS]);
    expect(result.errors).toEqual([]);
    expect(result.resources.map((r) => `${r.kind} ${r.metadata.namespace}/${r.metadata.name} ${r.apiVersion}`).sort()).toEqual([
      'DestinationRule istio-egress/dr-lambda-ext networking.istio.io/v1beta1',
      'DestinationRule istio-egress/egressgateway-for-lambda networking.istio.io/v1beta1',
      'DestinationRule istio-ingress/dr-alb-ext networking.istio.io/v1beta1',
      'Gateway istio-egress/istio-egressgateway networking.istio.io/v1beta1',
      'Gateway istio-ingress/eastwestgateway networking.istio.io/v1beta1',
      'Gateway istio-system/eastwestgateway networking.istio.io/v1alpha3',
      'Namespace /sleep v1',
      'Service istio-system/istiod v1',
      'ServiceEntry istio-egress/se-lambda-ext networking.istio.io/v1beta1',
      'ServiceEntry istio-ingress/se-alb-ext networking.istio.io/v1beta1',
      'VirtualService istio-egress/direct-lambda-through-egress-gateway networking.istio.io/v1beta1',
      'VirtualService istio-ingress/vs-lambda networking.istio.io/v1beta1',
    ]);
  });

  test('each seed file also loads on its own with no error and no validation warning', async () => {
    const files = (await readdir(SEEDS)).filter((f) => f.endsWith('.yaml'));
    expect(files).toHaveLength(11);
    for (const file of files) {
      const result = loadResources(await readFile(seed(file), 'utf8'), file);
      expect(result.errors, file).toEqual([]);
      expect(result.warnings.filter((w) => w.code !== 'IGNORED_KIND'), file).toEqual([]);
    }
  });

  test('Deployment and IstioOperator documents are ignored with a warning; Namespace and Service are accepted', async () => {
    const result = await loadResourceFiles([SEEDS]);
    expect(result.ignored.map((i) => `${i.kind} ${i.name}`).sort()).toEqual([
      'Deployment sleep',
      'IstioOperator control-plane',
      'IstioOperator istio-gateways',
      'IstioOperator istio-gateways',
      'IstioOperator istio-install',
    ]);
    expect(result.warnings).toHaveLength(5);
    for (const w of result.warnings) {
      expect(w.severity).toBe('warning');
      expect(w.code).toBe('IGNORED_KIND');
      expect(w.line).toBeGreaterThan(0);
    }
    const deployment = result.warnings.find((w) => w.kind === 'Deployment');
    expect(deployment).toMatchObject({ source: seed('000-5-mesh-a-sleep.yaml'), document: 2, line: 6, resource: 'Deployment sleep.sleep' });
    expect(deployment?.message).toContain('not an Isthmus config kind');
  });

  test('seed values arrive typed: AUTO_PASSTHROUGH gateway, MUTUAL credentialName, DNS endpoint with the gateway address', async () => {
    const result = await loadResourceFiles([SEEDS]);
    const byName = (kind: string, ns: string, name: string) =>
      result.resources.find((r) => r.kind === kind && r.metadata.namespace === ns && r.metadata.name === name);
    const eastwest = byName('Gateway', 'istio-system', 'eastwestgateway');
    expect(eastwest?.kind === 'Gateway' && eastwest.spec.servers[0]).toEqual({ port: { number: 15443, name: 'tls', protocol: 'TLS' }, tls: { mode: 'AUTO_PASSTHROUGH' }, hosts: ['*'] });
    const ingress = byName('Gateway', 'istio-ingress', 'eastwestgateway');
    expect(ingress?.kind === 'Gateway' && ingress.spec.selector).toEqual({ app: 'istio-ingressgateway', istio: 'ingressgateway', 'istio.io/rev': '1-17' });
    const se = byName('ServiceEntry', 'istio-egress', 'se-lambda-ext');
    expect(se?.kind === 'ServiceEntry' && se.spec.endpoints).toEqual([{ address: 'ingress.eks.example', ports: { http: 443 } }]);
    expect(se?.origin).toEqual({ source: seed('000-8-mesh-a-serviceentry-destinationrule-lambda.yaml'), document: 1, line: 1, column: 1 });
  });
});
