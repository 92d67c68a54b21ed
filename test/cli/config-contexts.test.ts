// `isthmus config set-context | use-context | get-contexts` and how commands pick their control plane
// (--server, --context, ISTHMUS_SERVER, the current context), with bearer tokens and clear errors.
import { createServer } from 'node:net';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createFileStore, startManagementServer } from '../../src/controlplane/index.js';
import type { FileStore, ManagementServer } from '../../src/controlplane/index.js';
import { CLI, run, tempDir } from '../helpers/index.js';
import type { RunResult } from '../helpers/index.js';

let work: { dir: string; cleanup: () => Promise<void> };
let meshA: { store: FileStore; server: ManagementServer };
let meshB: { store: FileStore; server: ManagementServer };
const TOKEN = 'mesh-b-token';

async function controlPlane(name: string, token?: string) {
  const store = await createFileStore({ stateDir: join(work.dir, name) });
  const server = await startManagementServer({ store, ...(token ? { token } : {}) });
  return { store, server };
}

function isthmus(args: string[], extraEnv: NodeJS.ProcessEnv = {}, input?: string): Promise<RunResult> {
  const { ISTHMUS_SERVER: _s, ISTHMUS_TOKEN: _t, ...rest } = process.env;
  const env = { ...rest, HOME: work.dir, ISTHMUS_CONTEXTS: join(work.dir, 'contexts.yaml'), ...extraEnv };
  return run(process.execPath, [CLI, ...args], { env, cwd: work.dir, ...(input === undefined ? {} : { input }) });
}

function ok(r: RunResult): string {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  return r.stdout;
}

function failed(r: RunResult): string {
  expect(r.code, `should fail; stdout: ${r.stdout}`).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^error: /);
  expect(r.stderr).toMatch(/^\s+fix: /m);
  return r.stderr;
}

const gateway = (name: string, ns: string) => `apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [lambda.external]\n`;

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

beforeAll(async () => {
  work = await tempDir('cli-contexts');
  meshA = await controlPlane('mesh-a');
  meshB = await controlPlane('mesh-b', TOKEN);
});
afterAll(async () => {
  for (const mesh of [meshA, meshB]) {
    await mesh?.server.close();
    await mesh?.store.close();
  }
  await work?.cleanup();
});

describe('isthmus config: contexts', () => {
  it('set-context, use-context and get-contexts manage an owner-only contexts file', async () => {
    expect(ok(await isthmus(['config', 'set-context', 'gke-lab3', '--server', meshA.server.url]))).toBe('Context "gke-lab3" created.\n');
    expect(ok(await isthmus(['config', 'set-context', 'eks-lab5', '--server', meshB.server.url, '--token', TOKEN]))).toBe('Context "eks-lab5" created.\n');
    expect(ok(await isthmus(['config', 'use-context', 'gke-lab3']))).toBe('Switched to context "gke-lab3".\n');

    const table = ok(await isthmus(['config', 'get-contexts'])).trimEnd().split('\n');
    expect(table[0]).toMatch(/^CURRENT\s+NAME\s+SERVER\s+TOKEN$/);
    expect(table[1]).toMatch(new RegExp(`^\\*\\s+gke-lab3\\s+${meshA.server.url}$`));
    expect(table[2]).toMatch(new RegExp(`^\\s+eks-lab5\\s+${meshB.server.url}\\s+yes$`));
    expect(ok(await isthmus(['config', 'current-context']))).toBe('gke-lab3\n');

    const file = join(work.dir, 'contexts.yaml');
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
    expect(parse(await readFile(file, 'utf8'))).toEqual({
      'current-context': 'gke-lab3',
      contexts: [{ name: 'gke-lab3', server: meshA.server.url }, { name: 'eks-lab5', server: meshB.server.url, token: TOKEN }],
    });
    // Tokens are not printed.
    expect(ok(await isthmus(['config', 'get-contexts', '-o', 'json']))).not.toContain(TOKEN);
    // Changing one field keeps the others.
    expect(ok(await isthmus(['config', 'set-context', 'eks-lab5', '--server', meshB.server.url]))).toBe('Context "eks-lab5" modified.\n');
    expect(await readFile(file, 'utf8')).toContain(TOKEN);
  });

  it('commands go to the current context, or to --context as in the seeds (before or after the verb)', async () => {
    expect(ok(await isthmus(['apply', '-f', '-'], {}, gateway('istio-egressgateway', 'istio-egress')))).toBe('gateway.networking.istio.io/istio-egressgateway created\n');
    expect(meshA.store.get('Gateway')).toHaveLength(1);
    expect(ok(await isthmus(['--context', 'eks-lab5', 'apply', '-f', '-'], {}, gateway('eastwestgateway', 'istio-ingress')))).toBe('gateway.networking.istio.io/eastwestgateway created\n');
    expect(ok(await isthmus(['apply', '--context', 'eks-lab5', '-f', '-'], {}, gateway('other', 'istio-ingress')))).toContain('created');
    expect(meshB.store.get('Gateway').map((s) => s.resource.metadata.name)).toEqual(['eastwestgateway', 'other']);
    expect(meshA.store.get('Gateway').map((s) => s.resource.metadata.name)).toEqual(['istio-egressgateway']);

    expect(ok(await isthmus(['--context', 'eks-lab5', 'get', 'gw', '-n', 'istio-ingress']))).toMatch(/^eastwestgateway\s/m);
    // ISTHMUS_SERVER overrides the current context; --context and --server override ISTHMUS_SERVER.
    expect(ok(await isthmus(['get', 'gw', '-A'], { ISTHMUS_SERVER: meshB.server.url, ISTHMUS_TOKEN: TOKEN }))).toMatch(/^istio-ingress\s+eastwestgateway/m);
    expect(ok(await isthmus(['--context', 'gke-lab3', 'get', 'gw', '-A'], { ISTHMUS_SERVER: meshB.server.url }))).toMatch(/^istio-egress\s+istio-egressgateway/m);
  });

  it('a wrong or missing token is refused with a fix', async () => {
    const stderr = failed(await isthmus(['--server', meshB.server.url, 'get', 'gw', '-A']));
    expect(stderr).toContain('missing or wrong bearer token');
    expect(failed(await isthmus(['--server', meshB.server.url, '--token', 'nope', 'get', 'gw', '-A']))).toContain('bearer token');
    expect(ok(await isthmus(['--server', meshB.server.url, '--token', TOKEN, 'get', 'gw', '-A']))).toContain('eastwestgateway');
  });

  it('errors name the problem and the fix, and exit non-zero', async () => {
    const port = await closedPort();
    const unreachable = failed(await isthmus(['--server', `http://127.0.0.1:${port}`, 'get', 'gateways', '-A']));
    expect(unreachable).toContain(`no control plane reachable at http://127.0.0.1:${port}`);
    expect(unreachable).toContain('isthmus controlplane');
    expect(unreachable).toContain('--server');

    expect(failed(await isthmus(['config', 'use-context', 'nope']))).toContain('no context exists with the name: "nope"');
    expect(failed(await isthmus(['--context', 'nope', 'get', 'gw']))).toContain('no context named "nope"');
    expect(failed(await isthmus(['config', 'set-context', 'x', '--server', 'ftp://host']))).toContain('invalid control plane URL');
    expect(failed(await isthmus(['config', 'set-context', 'y']))).toContain('needs a server');
    expect(failed(await isthmus(['apply']))).toContain('no input given');

    await writeFile(join(work.dir, 'broken-contexts.yaml'), 'contexts: [{name: a}]\n');
    expect(failed(await isthmus(['config', 'get-contexts'], { ISTHMUS_CONTEXTS: join(work.dir, 'broken-contexts.yaml') }))).toContain('contexts[0] needs a name and a server');
  });

  it('delete-context removes a context and clears current-context when it was current', async () => {
    ok(await isthmus(['config', 'delete-context', 'gke-lab3']));
    const doc = parse(await readFile(join(work.dir, 'contexts.yaml'), 'utf8')) as { 'current-context'?: string; contexts: Array<{ name: string }> };
    expect(doc['current-context']).toBeUndefined();
    expect(doc.contexts.map((c) => c.name)).toEqual(['eks-lab5']);
  });
});
