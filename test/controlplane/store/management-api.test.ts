// The management API over real HTTP: apply/get/delete with kubectl's results, all-or-nothing refusals
// with field paths, secrets made by openssl, bearer tokens, analyze, and the xDS extension points.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManagementApiError, ManagementClient, createFileStore, startManagementServer } from '../../../src/controlplane/index.js';
import type { FileStore, ManagementServer } from '../../../src/controlplane/index.js';
import { openssl, tempDir } from '../../helpers/index.js';
import { gatewayYaml, MESH_B_GATEWAY, MESH_B_SERVICE } from './fixtures.js';

let work: { dir: string; cleanup: () => Promise<void> };
let store: FileStore;
let server: ManagementServer;
let client: ManagementClient;
const pem: Record<string, string> = {};

async function selfSigned(name: string, subject: string): Promise<void> {
  const r = await openssl(['req', '-x509', '-nodes', '-days', '365', '-newkey', 'rsa:2048', '-keyout', join(work.dir, `${name}.key`), '-out', join(work.dir, `${name}.crt`), '-subj', subject]);
  if (r.code !== 0) throw new Error(r.stderr);
  pem[`${name}.key`] = await readFile(join(work.dir, `${name}.key`), 'utf8');
  pem[`${name}.crt`] = await readFile(join(work.dir, `${name}.crt`), 'utf8');
}
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** The error a call is refused with. */
async function refusal(call: Promise<unknown>): Promise<ManagementApiError> {
  const err = await call.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ManagementApiError);
  return err as ManagementApiError;
}

beforeAll(async () => {
  work = await tempDir('management');
  store = await createFileStore({ stateDir: join(work.dir, 'state') });
  server = await startManagementServer({ store });
  client = new ManagementClient({ server: server.url });
  await selfSigned('server', '/C=NT/ST=Zamunda/O=Solo.io/OU=Solo.io/CN=*');
  await selfSigned('client', '/C=NT/ST=Wakanda/O=Solo.io/OU=Solo.io/CN=*');
});
afterAll(async () => {
  await server?.close();
  await store?.close();
  await work?.cleanup();
});

describe('management API: apply, get, delete', () => {
  it('listens on loopback', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('POST /v1/apply takes YAML and answers per resource: created, then unchanged, then configured', async () => {
    const res = await fetch(`${server.url}/v1/apply?source=stdin`, { method: 'POST', body: MESH_B_SERVICE + '---\n' + MESH_B_GATEWAY });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { revision: number; results: Array<{ kind: string; name: string; action: string }> };
    expect(body.results.map((r) => `${r.kind}/${r.name} ${r.action}`)).toEqual([
      'ServiceEntry/se-alb-ext created', 'DestinationRule/dr-alb-ext created', 'Gateway/eastwestgateway created', 'VirtualService/vs-lambda created',
    ]);
    const again = await client.apply(MESH_B_GATEWAY, { source: 'stdin' });
    expect(again.results.map((r) => r.action)).toEqual(['unchanged', 'unchanged']);
    expect(again.revision).toBe(body.revision);
    const changed = await client.apply(gatewayYaml('MUTUAL', 'lambda2.external'), { source: 'stdin' });
    expect(changed.results.map((r) => r.action)).toEqual(['configured']);
    expect(changed.revision).toBe(body.revision + 1);
    await client.apply(gatewayYaml('MUTUAL'), { source: 'stdin' });
  });

  it('refuses a request with one bad document as a whole (422), with file, line and field path', async () => {
    const text = `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: new-rule, namespace: istio-ingress}
spec: {host: new.example.com}
---
${gatewayYaml('MUTUALL')}`;
    const before = store.revision();
    const res = await fetch(`${server.url}/v1/apply?source=edit.yaml`, { method: 'POST', body: text });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; hint: string }; problems: Array<Record<string, unknown>> };
    expect(body.error.code).toBe('ERR_INVALID_CONFIG');
    expect(body.problems).toEqual([expect.objectContaining({ source: 'edit.yaml', document: 2, line: 25, path: 'spec.servers[0].tls.mode', resource: 'Gateway eastwestgateway.istio-ingress' })]);
    expect(store.revision()).toBe(before);
    expect(store.get('DestinationRule', 'istio-ingress', 'new-rule')).toEqual([]);
    const gw = await client.resources({ kind: 'gw', namespace: 'istio-ingress', name: 'eastwestgateway' });
    expect((gw.items[0]?.resource as unknown as { spec: { servers: Array<{ tls: { mode: string } }> } }).spec.servers[0]?.tls.mode).toBe('MUTUAL');
  });

  it('apply -n puts objects without a namespace there and refuses one that names another', async () => {
    const text = 'apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: in-ns}\nspec: {host: x.example.com}\n';
    const placed = await client.apply(text, { source: 'stdin', namespace: 'team-a' });
    expect(placed.results[0]).toMatchObject({ namespace: 'team-a', action: 'created' });
    const other = text.replace('{name: in-ns}', '{name: in-ns, namespace: team-b}');
    const err = await refusal(client.apply(other, { source: 'stdin', namespace: 'team-a' }));
    expect(err.problems[0]).toMatchObject({ path: 'metadata.namespace', fix: 'pass -n team-b, or remove metadata.namespace from the object' });
  });

  it('reports kinds Isthmus does not use as ignored, in document order, and stores the rest', async () => {
    const text = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: sleep}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: sleep, namespace: sleep}\nspec: {replicas: 1}\n';
    const r = await client.apply(text, { source: 'stdin' });
    expect(r.results.map((i) => `${i.kind} ${i.action}`)).toEqual(['Namespace created', 'Deployment ignored']);
    expect(r.results[1]?.reason).toMatch(/not an Isthmus config kind/);
  });

  it('GET /v1/resources filters by kind alias, namespace and name; 404 and 400 say what to fix', async () => {
    const all = await client.resources({ kind: 'virtualservices', namespace: 'istio-ingress' });
    expect(all.kind).toBe('VirtualService');
    expect(all.items.map((i) => i.resource.metadata.name)).toEqual(['vs-lambda']);
    expect(all.items[0]?.resource.metadata).toMatchObject({ resourceVersion: expect.stringMatching(/^\d+$/), creationTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) });
    expect((await client.resources({ kind: 'serviceentries.networking.istio.io' })).items).toHaveLength(1);
    expect((await client.resources({ kind: 'vs', namespace: 'default' })).items).toEqual([]);

    const missing = await fetch(`${server.url}/v1/resources?kind=gateway&namespace=istio-ingress&name=nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toBe('gateways.networking.istio.io "nope" not found in namespace "istio-ingress"');
    const unknown = await refusal(client.resources({ kind: 'frobs' }));
    expect(unknown.status).toBe(400);
    expect(unknown.hint).toContain('virtualservices (vs)');
  });

  it('POST /v1/delete removes resources; a missing one refuses the request (404) unless ignored', async () => {
    await client.apply('apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: temp, namespace: istio-ingress}\nspec: {host: t.example.com}\n', { source: 'stdin' });
    const err = await refusal(client.delete({ resources: [{ kind: 'dr', name: 'temp' }, { kind: 'dr', name: 'ghost' }], namespace: 'istio-ingress' }));
    expect(err.status).toBe(404);
    expect(err.problems.map((p) => p.resource)).toEqual(['DestinationRule ghost.istio-ingress']);
    expect(store.get('DestinationRule', 'istio-ingress', 'temp')).toHaveLength(1);

    const r = await client.delete({ resources: [{ kind: 'dr', name: 'temp' }, { kind: 'dr', name: 'ghost' }], namespace: 'istio-ingress', ignoreNotFound: true });
    expect(r.results).toEqual([{ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', namespace: 'istio-ingress', name: 'temp', action: 'deleted' }]);
    expect(store.get('DestinationRule', 'istio-ingress', 'temp')).toEqual([]);
  });

  it('answers 404 for unknown paths and 405 (with Allow) for wrong methods', async () => {
    expect((await fetch(`${server.url}/v1/nothing`)).status).toBe(404);
    const wrong = await fetch(`${server.url}/v1/apply`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });
});

describe('management API: secrets', () => {
  it('creates an Istio generic credential from openssl files, once', async () => {
    const request = { type: 'generic' as const, name: 'mtls-credential', namespace: 'istio-ingress', data: { key: b64(pem['server.key'] ?? ''), cert: b64(pem['server.crt'] ?? ''), cacert: b64(pem['client.crt'] ?? '') } };
    const r = await client.createSecret(request);
    expect(r.results).toEqual([{ apiVersion: 'v1', kind: 'Secret', namespace: 'istio-ingress', name: 'mtls-credential', action: 'created' }]);
    const stored = store.get('Secret', 'istio-ingress', 'mtls-credential')[0]?.resource as { type?: string; data?: Record<string, string> };
    expect(stored.type).toBe('Opaque');
    expect(Buffer.from(stored.data?.['cert'] ?? '', 'base64').toString()).toBe(pem['server.crt']);
    // The gateway's credential now exists: analyze no longer reports it missing.
    expect((await client.analyze()).messages.filter((m) => m.message.includes('mtls-credential'))).toEqual([]);

    const again = await refusal(client.createSecret(request));
    expect(again.status).toBe(409);
    expect(again.problems[0]).toMatchObject({ code: 'ALREADY_EXISTS', fix: expect.stringContaining('delete it first') });
  });

  it('refuses a key that does not belong to the certificate, and a tls secret without its key', async () => {
    const mismatch = await refusal(client.createSecret({ type: 'generic', name: 'wrong', namespace: 'istio-egress', data: { key: b64(pem['client.key'] ?? ''), cert: b64(pem['server.crt'] ?? '') } }));
    expect(mismatch.status).toBe(422);
    expect(mismatch.problems[0]?.message).toContain('the private key does not belong to the certificate');
    expect(store.get('Secret', 'istio-egress')).toEqual([]);

    const tls = await client.createSecret({ type: 'tls', name: 'server-tls', namespace: 'istio-ingress', data: { 'tls.crt': b64(pem['server.crt'] ?? ''), 'tls.key': b64(pem['server.key'] ?? '') } });
    expect(tls.results[0]?.action).toBe('created');
    expect((store.get('Secret', 'istio-ingress', 'server-tls')[0]?.resource as { type?: string }).type).toBe('kubernetes.io/tls');
    const noKey = await refusal(client.createSecret({ type: 'tls', name: 'half', data: { 'tls.crt': b64(pem['server.crt'] ?? '') } }));
    expect(noKey.problems[0]?.path).toBe('data["tls.key"]');
  });
});

describe('management API: analyze and the xDS extension points', () => {
  it('GET /v1/analyze reports istioctl-style messages; POST analyzes extra YAML without storing it', async () => {
    const text = 'apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: dangling, namespace: istio-ingress}\nspec:\n  hosts: [x.example.com]\n  gateways: [no-such-gateway]\n  http:\n  - route:\n    - destination: {host: alb.jesus2.solo.io}\n';
    const r = await client.analyze({ text, source: 'extra.yaml' });
    expect(r.messages).toContainEqual(expect.objectContaining({ code: 'IST0101', kind: 'VirtualService', name: 'dangling', level: 'Error' }));
    expect(store.get('VirtualService', 'istio-ingress', 'dangling')).toEqual([]);
    const plain = await client.analyze({ namespace: 'istio-ingress' });
    expect(plain.messages.filter((m) => m.name === 'dangling')).toEqual([]);
    expect(plain.snapshotVersion).toBe(store.snapshot().version);
  });

  it('proxy-status and proxy-config answer 501 until the xDS side provides them', async () => {
    const status = await refusal(client.proxyStatus());
    expect(status.status).toBe(501);
    expect(status.message).toContain('proxy status is not available');
    expect(status.hint).toBeTruthy();
    expect((await refusal(client.proxyConfig('gw-1', 'routes'))).status).toBe(501);

    server.provide({
      proxyStatus: () => [{ proxy: 'istio-ingressgateway.istio-ingress', cds: 'SYNCED' }],
      proxyConfig: ({ proxy, type }) => (proxy === 'istio-ingressgateway.istio-ingress' ? { type, resources: [] } : undefined),
    });
    expect(await client.proxyStatus()).toEqual([{ proxy: 'istio-ingressgateway.istio-ingress', cds: 'SYNCED' }]);
    expect(await client.proxyConfig('istio-ingressgateway.istio-ingress', 'routes')).toEqual({ type: 'routes', resources: [] });
    expect((await refusal(client.proxyConfig('nobody', 'routes'))).status).toBe(404);
    const badType = await fetch(`${server.url}/v1/proxy-config?proxy=x&type=bogus`);
    expect(badType.status).toBe(400);
  });
});

describe('management API: bearer token', () => {
  it('with a token, refuses requests without it (401) and serves those with it', async () => {
    const guarded = await startManagementServer({ store, token: 's3cret' });
    try {
      const denied = await refusal(new ManagementClient({ server: guarded.url }).status());
      expect(denied.status).toBe(401);
      expect(denied.hint).toContain('--token');
      expect((await refusal(new ManagementClient({ server: guarded.url, token: 'wrong' }).status())).status).toBe(401);
      const status = await new ManagementClient({ server: guarded.url, token: 's3cret' }).status();
      expect(status.revision).toBe(store.revision());
    } finally {
      await guarded.close();
    }
  });

  it('the client says how to fix an unreachable control plane', async () => {
    const closed = await startManagementServer({ store });
    const url = closed.url;
    await closed.close();
    const err = await new ManagementClient({ server: url }).status().then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CONTROLPLANE_UNREACHABLE', message: expect.stringContaining(`no control plane reachable at ${url}`), hint: expect.stringContaining('isthmus controlplane') });
  });
});
