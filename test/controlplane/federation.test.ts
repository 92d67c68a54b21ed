/**
 * Federation in the control plane: meshConfig.caCertificates and `--federate TD=file` become ROOTCA's
 * SPIFFE validator (one bundle per trust domain) and widen inbound mTLS to the federated trust domains;
 * without them nothing changes. Foreign principals in AuthorizationPolicy stay as written.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSnapshot, readIstioOperator } from '../../src/api/index.js';
import { TYPE_URL } from '../../src/envoy/index.js';
import { federatedBundles, loadFederationFlags, rootCaValidation } from '../../src/controlplane/federation.js';
import { buildAuthorization, translate } from '../../src/controlplane/translate/index.js';
import type { AuthorizationPolicy, ConfigSnapshot, MeshService, ProxyNode, XdsDownstreamTlsContext } from '../../src/controlplane/translate/index.js';
import { CertificateAuthority, toPem } from '../../src/pki/index.js';
import { tempDir } from '../helpers/index.js';
import { errorLines, load } from '../api/helpers.js';

let work: { dir: string; cleanup: () => Promise<void> };
let aRootPem = '';
let meshRootsPem = '';

beforeAll(async () => {
  work = await tempDir('federation');
  aRootPem = toPem([(await CertificateAuthority.createRoot({ trustDomain: 'a.local' })).certificate]);
  meshRootsPem = toPem([(await CertificateAuthority.createRoot({ trustDomain: 'b.local' })).certificate]);
  await writeFile(join(work.dir, 'a-root.pem'), aRootPem);
  await writeFile(join(work.dir, 'junk.pem'), 'not a certificate');
});
afterAll(async () => {
  await work?.cleanup();
});

const proxy: ProxyNode = { id: 'sidecar~127.0.0.1~echo-1.apps~apps.svc.cluster.local', type: 'sidecar', namespace: 'apps', labels: { app: 'echo' } };
const services: MeshService[] = [{ hostname: 'echo.apps.svc.cluster.local', namespace: 'apps', selector: { app: 'echo' }, ports: [{ name: 'http', number: 80, protocol: 'HTTP', targetPort: 9080 }] }];
const inboundSans = (snapshot: ConfigSnapshot, federatedTrustDomains?: string[]) => {
  const out = translate(snapshot, proxy, { meshServices: services, healthListeners: false, trustDomain: 'b.local', ...(federatedTrustDomains ? { federatedTrustDomains } : {}) });
  const chain = out.listeners.find((l) => l.name === 'inbound|9080||')?.filter_chains?.[0];
  const tls = chain?.transport_socket?.typed_config as unknown as XdsDownstreamTlsContext;
  return { sans: tls.common_tls_context?.combined_validation_context?.default_validation_context?.match_typed_subject_alt_names, secrets: out.secrets };
};

describe('inbound mTLS with federation', () => {
  it('accepts only the own trust domain without federation (unchanged)', () => {
    expect(inboundSans({}).sans).toEqual([{ san_type: 'URI', matcher: { prefix: 'spiffe://b.local/' } }]);
  });

  it('adds the trust domains of meshConfig.caCertificates and of --federate, each once; ROOTCA stays the reference', () => {
    const snapshot: ConfigSnapshot = { meshConfig: { caCertificates: [{ pem: aRootPem, trustDomains: ['a.local', 'b.local'] }] } };
    const { sans, secrets } = inboundSans(snapshot, ['c.local', 'a.local']);
    expect(sans?.map((m) => m.matcher.prefix)).toEqual(['spiffe://b.local/', 'spiffe://a.local/', 'spiffe://c.local/']);
    expect(secrets).toContain('ROOTCA');
  });
});

describe("the control plane's config snapshot (the api's resolved mesh config)", () => {
  it("keeps the CA's trust domain when the MeshConfig names none, and carries caCertificates through", () => {
    expect(inboundSans(buildSnapshot([]) as unknown as ConfigSnapshot).sans).toEqual([{ san_type: 'URI', matcher: { prefix: 'spiffe://b.local/' } }]);
    const withMesh = buildSnapshot([{ apiVersion: 'isthmus.io/v1alpha1', kind: 'MeshConfig', metadata: { name: 'mesh', namespace: '' }, spec: { caCertificates: [{ pem: aRootPem, trustDomains: ['a.local'] }] } }]);
    expect(inboundSans(withMesh as unknown as ConfigSnapshot).sans?.map((m) => m.matcher.prefix)).toEqual(['spiffe://b.local/', 'spiffe://a.local/']);
  });
});

describe('ROOTCA with federation', () => {
  it('is the plain mesh roots without federated bundles', () => {
    const { validation } = rootCaValidation(meshRootsPem, ['b.local'], []);
    expect(Buffer.from(validation.trusted_ca?.inline_bytes ?? '', 'base64').toString()).toBe(meshRootsPem);
    expect(validation.custom_validator_config).toBeUndefined();
  });

  it('becomes the SPIFFE validator: own trust domains -> mesh roots, each federated domain -> its roots only', () => {
    const bundles = federatedBundles({ caCertificates: [{ pem: aRootPem, trustDomains: ['a.local'] }, { pem: meshRootsPem, trustDomains: ['b.local'] }] }, []);
    const { validation, ignored } = rootCaValidation(meshRootsPem, ['b.local', 'vm.local'], bundles);
    expect(ignored.map((b) => b.source)).toEqual(['meshConfig.caCertificates[1]']);
    expect(validation.trusted_ca).toBeUndefined();
    expect(validation.custom_validator_config?.name).toBe('envoy.tls.cert_validator.spiffe');
    const typed = validation.custom_validator_config?.typed_config as unknown as { '@type': string; trust_domains: Array<{ name: string; trust_bundle: { inline_bytes: string } }> };
    expect(typed['@type']).toBe(TYPE_URL.spiffeCertValidatorConfig);
    const bundle = Object.fromEntries(typed.trust_domains.map((d) => [d.name, Buffer.from(d.trust_bundle.inline_bytes, 'base64').toString()]));
    expect(Object.keys(bundle)).toEqual(['a.local', 'b.local', 'vm.local']);
    expect(bundle['a.local']).toBe(aRootPem);
    expect(bundle['b.local']).toBe(meshRootsPem);
    expect(bundle['vm.local']).toBe(meshRootsPem);
  });
});

describe('--federate flag', () => {
  it('reads TD=file', async () => {
    const [bundle] = await loadFederationFlags([`a.local=${join(work.dir, 'a-root.pem')}`]);
    expect(bundle).toEqual({ trustDomain: 'a.local', pem: aRootPem, source: '--federate a.local' });
  });

  it.each([
    ['a.local', 'expected <trust domain>=<file>'],
    ['spiffe://a.local=x.pem', 'is not a trust domain'],
    ['A.LOCAL=x.pem', 'is not a trust domain'],
    ['a.local=/nonexistent/a.pem', 'cannot read /nonexistent/a.pem'],
  ])('refuses %s', async (value, message) => {
    await expect(loadFederationFlags([value])).rejects.toThrow(message);
  });

  it('refuses a file without certificates', async () => {
    await expect(loadFederationFlags([`a.local=${join(work.dir, 'junk.pem')}`])).rejects.toThrow('holds no PEM certificate');
  });
});

describe('meshConfig.caCertificates validation', () => {
  const problems = (spec: Record<string, unknown>) => errorLines(load({ apiVersion: 'isthmus.io/v1alpha1', kind: 'MeshConfig', metadata: { name: 'mesh' }, spec }));

  it('accepts PEM roots with trust domains', () => {
    expect(problems({ trustDomain: 'b.local', caCertificates: [{ pem: aRootPem, trustDomains: ['a.local'] }] })).toEqual([]);
  });

  it('names the field of each problem', () => {
    expect(problems({
      trustDomain: 'b.local',
      caCertificates: [{ pem: aRootPem }, { pem: 'junk', trustDomains: ['A.local'] }, { spiffeBundleUrl: 'https://a/bundle', trustDomains: ['a.local'] }, { pem: aRootPem, trustDomains: ['b.local'] }],
    })).toEqual([
      'spec.caCertificates[0].trustDomains: name the trust domain(s) whose identities these roots sign',
      'spec.caCertificates[1].pem: no PEM certificate found',
      'spec.caCertificates[1].trustDomains[0]: invalid trust domain "A.local"',
      'spec.caCertificates[2].spiffeBundleUrl: fetching a SPIFFE bundle endpoint is not supported',
      'spec.caCertificates[3].trustDomains[0]: "b.local" is this mesh\'s own trust domain; its roots come from the mesh CA',
    ]);
  });

  it('an IstioOperator carries meshConfig.caCertificates through, and reports its problems by path', () => {
    const indent = aRootPem.trimEnd().split('\n').map((l) => `          ${l}`).join('\n');
    const read = readIstioOperator(`apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: { name: mesh-b }
spec:
  meshConfig:
    trustDomain: b.local
    caCertificates:
      - pem: |
${indent}
        trustDomains: [a.local]
      - pem: nope
        trustDomains: [a.local]
`);
    expect(read.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['spec.meshConfig.caCertificates.1.pem: no PEM certificate found']);
    expect(JSON.stringify(read.document)).toContain('caCertificates');
  });
});

describe('AuthorizationPolicy principals of other trust domains', () => {
  it('are matched as written (only cluster.local is an alias of the own trust domain)', () => {
    const policy: AuthorizationPolicy = {
      apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'allow-a', namespace: 'apps' },
      spec: { rules: [{ from: [{ source: { principals: ['a.local/ns/x/sa/client'] } }] }] },
    };
    const authz = buildAuthorization({ policies: [policy], proxy, rootNamespace: 'istio-system', trustDomain: 'b.local', warn: () => undefined });
    const text = JSON.stringify(authz.http);
    expect(text).toContain('spiffe://a.local/ns/x/sa/client');
    expect(text).not.toContain('b.local');
  });
});
