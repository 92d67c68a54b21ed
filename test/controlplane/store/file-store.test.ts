// The file-backed config store: persistence in the state dir, crash safety, validation that never
// replaces the last good version, and the watched config dir. Real files, real fs.watch, real processes.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileStore } from '../../../src/controlplane/index.js';
import type { FileStore, StoreEvent } from '../../../src/controlplane/index.js';
import { PROJECT_ROOT, tempDir } from '../../helpers/index.js';
import { eventually, gatewayYaml, MESH_B_GATEWAY, MESH_B_SERVICE, resources } from './fixtures.js';

let work: { dir: string; cleanup: () => Promise<void> };
const open: FileStore[] = [];
const state = () => join(work.dir, 'state');
const configDir = () => join(work.dir, 'config');

async function openStore(options: { configDir?: boolean } = {}): Promise<FileStore> {
  const store = await createFileStore({ stateDir: state(), ...(options.configDir ? { configDir: configDir(), debounceMs: 30 } : {}) });
  open.push(store);
  return store;
}

const gatewayMode = (store: FileStore) =>
  (store.get('Gateway', 'istio-ingress', 'eastwestgateway')[0]?.resource as { spec?: { servers?: Array<{ tls?: { mode?: string } }> } } | undefined)?.spec?.servers?.[0]?.tls?.mode;

beforeEach(async () => {
  work = await tempDir('store');
  await mkdir(configDir());
});
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  await work.cleanup();
});

describe('FileStore: writes through the control plane', () => {
  it('reports created, unchanged and configured like kubectl, with monotonic versions', async () => {
    const store = await openStore();
    const first = await store.apply(resources(MESH_B_SERVICE + '---\n' + MESH_B_GATEWAY), { source: 'stdin' });
    expect(first.ok && first.results.map((r) => `${r.ref.kind}/${r.ref.name} ${r.action}`)).toEqual([
      'ServiceEntry/se-alb-ext created', 'DestinationRule/dr-alb-ext created', 'Gateway/eastwestgateway created', 'VirtualService/vs-lambda created',
    ]);
    const revision = store.revision();
    expect(revision).toBe(1);

    const again = await store.apply(resources(MESH_B_GATEWAY), { source: 'stdin' });
    expect(again.ok && again.results.map((r) => r.action)).toEqual(['unchanged', 'unchanged']);
    expect(store.revision()).toBe(revision);

    const changed = await store.apply(resources(gatewayYaml('SIMPLE')), { source: 'stdin' });
    expect(changed.ok && changed.results.map((r) => r.action)).toEqual(['configured']);
    expect(store.revision()).toBe(revision + 1);
    const gateway = store.get('Gateway', 'istio-ingress')[0];
    expect(gateway?.resourceVersion).toBe(revision + 1);
    expect(store.get('VirtualService', 'istio-ingress')[0]?.resourceVersion).toBe(revision);
    expect(store.snapshot().gateways.map((g) => g.spec.servers[0]?.tls?.mode)).toEqual(['SIMPLE']);
  });

  it('tells watchers what changed, with the new snapshot', async () => {
    const store = await openStore();
    const events: StoreEvent[] = [];
    const stop = store.watch((e) => events.push(e));
    await store.apply(resources(MESH_B_GATEWAY), { source: 'stdin' });
    await store.apply(resources(MESH_B_GATEWAY), { source: 'stdin' }); // unchanged: no event
    await store.delete([{ kind: 'VirtualService', namespace: 'istio-ingress', name: 'vs-lambda' }]);
    stop();
    await store.apply(resources(gatewayYaml('SIMPLE')), { source: 'stdin' }); // after stop: not seen
    expect(events.map((e) => e.changes.map((c) => `${c.ref.kind} ${c.action}`))).toEqual([
      ['Gateway created', 'VirtualService created'],
      ['VirtualService deleted'],
    ]);
    expect(events[0]?.snapshot.virtualServices).toHaveLength(1);
    expect(events[1]?.snapshot.virtualServices).toHaveLength(0);
    expect(events[1]?.snapshot.version).not.toBe(events[0]?.snapshot.version);
  });

  it('a new store on the same state dir sees what was written, with the same versions and times', async () => {
    const first = await openStore();
    await first.apply(resources(MESH_B_SERVICE), { source: 'stdin' });
    await first.apply(resources(MESH_B_GATEWAY), { source: 'gateway.yaml' });
    const before = first.get();
    const snapshotVersion = first.snapshot().version;
    await first.close();

    const second = await openStore();
    expect(second.get()).toEqual(before);
    expect(second.revision()).toBe(2);
    expect(second.snapshot().version).toBe(snapshotVersion);
    // Versions keep increasing after a restart; they are never reused.
    await second.apply(resources(gatewayYaml('SIMPLE')), { source: 'stdin' });
    expect(second.revision()).toBe(3);
    expect(second.get('Gateway')[0]?.resourceVersion).toBe(3);
  });

  it('persists secrets owner-only (they hold private keys)', async () => {
    const store = await openStore();
    await store.apply(resources('apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: istio-ingress}\nstringData: {key: not-really-a-key}\n'), { source: 'stdin' });
    const file = join(state(), 'store', 'resources.json');
    const { stat } = await import('node:fs/promises');
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
  });

  it('refuses an invalid resource with its field path and keeps the last good version, in memory and on disk', async () => {
    const store = await openStore();
    await store.apply(resources(MESH_B_GATEWAY), { source: 'stdin' });
    const before = store.get();

    // An object handed over in code (as from a Kubernetes API server): no loader, no origin.
    const bad = {
      apiVersion: 'networking.istio.io/v1beta1', kind: 'Gateway', metadata: { name: 'eastwestgateway', namespace: 'istio-ingress' },
      spec: { servers: [{ hosts: ['lambda.external'], port: { name: 'https', number: 443, protocol: 'HTTPS' }, tls: { mode: 'MUTUALL' } }] },
    };
    const extra = resources(MESH_B_SERVICE);
    // All or nothing: the valid ServiceEntry and DestinationRule in the same request are not stored either.
    const refused = await store.apply([...extra, bad as never], { source: 'edit.yaml' });
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.errors).toEqual([expect.objectContaining({ severity: 'error', source: 'edit.yaml', document: 3, resource: 'Gateway eastwestgateway.istio-ingress', path: 'spec.servers[0].tls.mode' })]);
    expect(refused.errors[0]?.fix).toMatch(/MUTUAL/);
    expect(store.get()).toEqual(before);
    expect(gatewayMode(store)).toBe('MUTUAL');

    await store.close();
    const reopened = await openStore();
    expect(reopened.get()).toEqual(before);
  });

  it('create-only refuses an existing resource; delete is all or nothing unless missing ones are ignored', async () => {
    const store = await openStore();
    await store.apply(resources(MESH_B_GATEWAY), { source: 'stdin' });
    const create = await store.apply(resources(gatewayYaml('SIMPLE')), { source: 'stdin', createOnly: true });
    expect(!create.ok && create.errors.map((e) => e.code)).toEqual(['ALREADY_EXISTS']);
    expect(gatewayMode(store)).toBe('MUTUAL');

    const refs = [{ kind: 'Gateway', namespace: 'istio-ingress', name: 'eastwestgateway' }, { kind: 'Gateway', namespace: 'istio-ingress', name: 'missing' }];
    const refused = await store.delete(refs);
    expect(!refused.ok && refused.errors.map((e) => `${e.code} ${e.resource}`)).toEqual(['NOT_FOUND Gateway missing.istio-ingress']);
    expect(store.get('Gateway')).toHaveLength(1);
    const deleted = await store.delete(refs, { ignoreNotFound: true });
    expect(deleted.ok && deleted.results.map((r) => r.action)).toEqual(['deleted', 'not found']);
    expect(store.get('Gateway')).toHaveLength(0);
  });

  it('keeps one MeshConfig: a second one by another name is refused, changing the first is not', async () => {
    const store = await openStore();
    const mesh = (name: string, trustDomain: string) => resources(`apiVersion: isthmus.io/v1alpha1\nkind: MeshConfig\nmetadata: {name: ${name}}\nspec: {trustDomain: ${trustDomain}}\n`);
    expect((await store.apply(mesh('mesh', 'mesh-b.local'), { source: 'stdin' })).ok).toBe(true);
    const second = await store.apply(mesh('other', 'x.local'), { source: 'stdin' });
    expect(!second.ok && second.errors[0]).toMatchObject({ code: 'CONFLICT', resource: 'MeshConfig other', message: expect.stringContaining('only one MeshConfig') });
    expect((await store.apply(mesh('mesh', 'renamed.local'), { source: 'stdin' })).ok).toBe(true);
    expect(store.snapshot().meshConfig.trustDomain).toBe('renamed.local');
  });
});

describe('FileStore: crash safety of the state file', () => {
  it('a leftover temporary file from an interrupted write neither corrupts nor survives a restart', async () => {
    const first = await openStore();
    await first.apply(resources(MESH_B_GATEWAY), { source: 'stdin' });
    const saved = first.get();
    await first.close();
    // What a crash between "write the temp file" and "rename" leaves: a half-written temp file.
    const leftover = join(state(), 'store', '.0123456789ab.tmp');
    await writeFile(leftover, '{"format":"isthmus.io/config-store/v1","revision":9,"resources":[{"resou');
    const second = await openStore();
    expect(second.get()).toEqual(saved);
    expect(second.revision()).toBe(1);
    expect(existsSync(leftover)).toBe(false);
  });

  it('a state file that is not the store\'s is refused and left as it is', async () => {
    await mkdir(join(state(), 'store'), { recursive: true });
    const file = join(state(), 'store', 'resources.json');
    await writeFile(file, '{"resources": [');
    await expect(createFileStore({ stateDir: state() })).rejects.toMatchObject({ code: 'ERR_STORE_STATE', hint: expect.stringContaining('backup') });
    expect(await readFile(file, 'utf8')).toBe('{"resources": [');
  });

  it('a process killed (SIGKILL) while writing loses no acknowledged write', async () => {
    const script = join(work.dir, 'writer.mjs');
    const entry = pathToFileURL(join(PROJECT_ROOT, 'dist', 'controlplane', 'index.js')).href;
    const api = pathToFileURL(join(PROJECT_ROOT, 'dist', 'api', 'index.js')).href;
    await writeFile(script, `
      import { createFileStore } from ${JSON.stringify(entry)};
      import { loadResources } from ${JSON.stringify(api)};
      const store = await createFileStore({ stateDir: process.argv[2] });
      // Large enough that a write takes a while, so the kill often lands inside one.
      const hosts = Array.from({ length: 400 }, (_, i) => '    - h' + i + '.example.com').join('\\n');
      for (let i = 0; ; i++) {
        const text = 'apiVersion: networking.istio.io/v1beta1\\nkind: ServiceEntry\\nmetadata:\\n  name: se-' + i + '\\n  namespace: crash\\nspec:\\n  hosts:\\n' + hosts + '\\n  ports:\\n    - {name: http, number: 80, protocol: HTTP}\\n  resolution: DNS\\n';
        const outcome = await store.apply(loadResources(text, 'loop').resources, { source: 'loop' });
        if (!outcome.ok) throw new Error(JSON.stringify(outcome.errors));
        process.stdout.write('ack se-' + i + '\\n');
      }
    `);
    const child = spawn(process.execPath, [script, state()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise((done) => child.once('exit', done));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`writer did not ack 15 writes: ${out} ${err}`)), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if ((out.match(/^ack /gm) ?? []).length >= 15) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await exited;
    const acked = [...out.matchAll(/^ack (se-\d+)$/gm)].map((m) => m[1]);
    const store = await openStore();
    const names = new Set(store.get('ServiceEntry', 'crash').map((s) => s.resource.metadata.name));
    for (const name of acked) expect(names.has(name as string), `${name} was acknowledged but is lost`).toBe(true);
    expect(store.revision()).toBeGreaterThanOrEqual(acked.length);
    expect((await readdir(join(state(), 'store'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('FileStore: the watched config dir', () => {
  it('picks up a hand edit; a broken edit keeps the last good version and reports file, line and field', async () => {
    await writeFile(join(configDir(), 'gateway.yaml'), MESH_B_GATEWAY);
    const store = await openStore({ configDir: true });
    expect(gatewayMode(store)).toBe('MUTUAL');
    expect(store.get('Gateway')[0]).toMatchObject({ origin: 'config-dir', source: join(configDir(), 'gateway.yaml') });

    const events: StoreEvent[] = [];
    store.watch((e) => events.push(e));
    await writeFile(join(configDir(), 'gateway.yaml'), MESH_B_GATEWAY.replace('mode: MUTUAL', 'mode: SIMPLE'));
    await eventually(() => gatewayMode(store) === 'SIMPLE');
    expect(events.at(-1)?.changes).toEqual([{ ref: { kind: 'Gateway', namespace: 'istio-ingress', name: 'eastwestgateway' }, action: 'configured' }]);
    const revision = store.revision();

    // Broken: a typo in an enum. The whole file is refused; what it had stays in effect.
    await writeFile(join(configDir(), 'gateway.yaml'), MESH_B_GATEWAY.replace('mode: MUTUAL', 'mode: SIMPEL').replace('vs-lambda', 'vs-renamed'));
    const problem = await eventually(() => store.problems()[0]);
    expect(problem).toMatchObject({ severity: 'error', source: join(configDir(), 'gateway.yaml'), document: 1, line: 20, path: 'spec.servers[0].tls.mode' });
    expect(gatewayMode(store)).toBe('SIMPLE');
    expect(store.get('VirtualService').map((s) => s.resource.metadata.name)).toEqual(['vs-lambda']);
    expect(store.revision()).toBe(revision);

    // Fixed: taken, and the problem is gone.
    await writeFile(join(configDir(), 'gateway.yaml'), MESH_B_GATEWAY.replace('vs-lambda', 'vs-renamed'));
    await eventually(() => store.get('VirtualService')[0]?.resource.metadata.name === 'vs-renamed');
    expect(store.problems()).toEqual([]);
    expect(gatewayMode(store)).toBe('MUTUAL');
  });

  it('a broken file at start-up contributes nothing and is reported; files added, renamed and removed are followed', async () => {
    await writeFile(join(configDir(), 'broken.yaml'), 'apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: gw\n');
    const store = await openStore({ configDir: true });
    expect(store.get()).toEqual([]);
    expect(store.problems()).toEqual([expect.objectContaining({ code: 'YAML_SYNTAX', source: join(configDir(), 'broken.yaml') })]);

    await mkdir(join(configDir(), 'mesh-b'));
    await writeFile(join(configDir(), 'mesh-b', 'service.yaml'), MESH_B_SERVICE);
    await eventually(() => store.get('DestinationRule').length === 1);
    await rename(join(configDir(), 'mesh-b', 'service.yaml'), join(configDir(), 'mesh-b', 'service.yml'));
    await eventually(() => store.get('DestinationRule')[0]?.source.endsWith('service.yml'));
    await rm(join(configDir(), 'broken.yaml'));
    await eventually(() => store.problems().length === 0);
    await rm(join(configDir(), 'mesh-b', 'service.yml'));
    await eventually(() => store.get().length === 0);
  });

  it('an emptied file (an editor truncating before it writes) keeps its resources until the file is deleted', async () => {
    await writeFile(join(configDir(), 'gateway.yaml'), MESH_B_GATEWAY);
    const store = await openStore({ configDir: true });
    const revision = store.revision();
    await writeFile(join(configDir(), 'gateway.yaml'), '');
    await eventually(() => store.problems()[0]);
    expect(store.problems()).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringContaining('is empty') })]);
    expect(store.get().map((s) => s.resource.kind)).toEqual(['Gateway', 'VirtualService']);
    expect(store.revision()).toBe(revision);
    await rm(join(configDir(), 'gateway.yaml'));
    await eventually(() => store.get().length === 0);
    expect(store.problems()).toEqual([]);
  });

  it('a resource a file defines cannot be changed or deleted through the API, and shadows an API copy', async () => {
    const store = await openStore({ configDir: true });
    await store.apply(resources(MESH_B_GATEWAY), { source: 'stdin' });
    await writeFile(join(configDir(), 'gateway.yaml'), gatewayYaml('SIMPLE'));
    await eventually(() => gatewayMode(store) === 'SIMPLE');
    expect(store.problems()).toEqual([expect.objectContaining({ code: 'SHADOWED', severity: 'warning', resource: 'Gateway eastwestgateway.istio-ingress' })]);

    const apply = await store.apply(resources(gatewayYaml('MUTUAL')), { source: 'stdin' });
    expect(!apply.ok && apply.errors[0]).toMatchObject({ code: 'CONFLICT', fix: `edit ${join(configDir(), 'gateway.yaml')} instead` });
    const del = await store.delete([{ kind: 'Gateway', namespace: 'istio-ingress', name: 'eastwestgateway' }]);
    expect(!del.ok && del.errors[0]?.code).toBe('CONFLICT');
    expect(gatewayMode(store)).toBe('SIMPLE');

    // Without the file, the API's copy is served again.
    await rm(join(configDir(), 'gateway.yaml'));
    await eventually(() => gatewayMode(store) === 'MUTUAL');
  });

  it('keeps the revision monotonic across a restart when only the config dir changed', async () => {
    await writeFile(join(configDir(), 'gateway.yaml'), MESH_B_GATEWAY);
    const first = await openStore({ configDir: true });
    await writeFile(join(configDir(), 'gateway.yaml'), gatewayYaml('SIMPLE'));
    await eventually(() => gatewayMode(first) === 'SIMPLE');
    const seen = first.revision();
    await first.close();
    const second = await openStore({ configDir: true });
    expect(second.revision()).toBeGreaterThanOrEqual(seen);
    const applied = await second.apply(resources(MESH_B_SERVICE), { source: 'stdin' });
    expect(applied.ok && applied.revision).toBeGreaterThan(seen);
  });
});
