// `isthmus apply | get | delete | create | analyze` end to end: the built CLI in child processes, seed
// 000's mesh-B commands run as written (kubectl -> isthmus, heredocs on stdin), against a management
// server started in this process.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createFileStore, startManagementServer } from '../../src/controlplane/index.js';
import type { FileStore, ManagementServer } from '../../src/controlplane/index.js';
import { CLI, openssl, run, tempDir } from '../helpers/index.js';
import type { RunResult } from '../helpers/index.js';

let work: { dir: string; cleanup: () => Promise<void> };
let store: FileStore;
let server: ManagementServer;

function env(): NodeJS.ProcessEnv {
  const { ISTHMUS_SERVER: _s, ISTHMUS_TOKEN: _t, ...rest } = process.env;
  return { ...rest, HOME: work.dir, ISTHMUS_CONTEXTS: join(work.dir, 'contexts.yaml') };
}

/** The CLI with --server pointing at the test's control plane. */
function isthmus(args: string[], input?: string): Promise<RunResult> {
  return run(process.execPath, [CLI, '--server', server.url, ...args], { env: env(), cwd: work.dir, ...(input === undefined ? {} : { input }) });
}

/** A shell script, as a user types it: heredocs and all. `isthmus` is the built CLI. */
function shell(script: string): Promise<RunResult> {
  return run('bash', ['-c', `isthmus() { ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"; }\nSERVER=${server.url}\n${script}`], { env: env(), cwd: work.dir });
}

function ok(r: RunResult): string {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** A clear failure: non-zero exit, an "error:" line and a "fix:" line on stderr. */
function failed(r: RunResult, code = 1): string {
  expect(r.code, `should fail; stdout: ${r.stdout}`).toBe(code);
  expect(r.stderr).toMatch(/^error: /m);
  expect(r.stderr).toMatch(/^\s+fix: /m);
  return r.stderr;
}

beforeAll(async () => {
  work = await tempDir('cli-config');
  store = await createFileStore({ stateDir: join(work.dir, 'state') });
  server = await startManagementServer({ store });
});
afterAll(async () => {
  await server?.close();
  await store?.close();
  await work?.cleanup();
});

describe('seed 000, mesh B, as written', () => {
  it('create namespace is accepted as a no-op', async () => {
    expect(ok(await isthmus(['create', 'namespace', 'istio-ingress']))).toBe('namespace/istio-ingress created\n');
  });

  it('applies the ServiceEntry and DestinationRule from a heredoc on stdin', async () => {
    const r = await shell(`isthmus --server $SERVER apply -f -<<EOF
# The external service will be visible only from the Istio ingress gateway, no need to make it available to other workloads for now
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: se-alb-ext
  namespace: istio-ingress
spec:
  exportTo:
    - .
  hosts:
    - alb.jesus2.solo.io
  ports:
    - name: https
      number: 443
      protocol: HTTPS
  resolution: DNS
---
# As we chose to connect using the ALB https listener, make sure you tell Istio it must use TLS for the connection
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: dr-alb-ext
  namespace: istio-ingress
spec:
  host: alb.jesus2.solo.io
  trafficPolicy:
    portLevelSettings:
      - port:
          number: 443
        tls:
          mode: SIMPLE
EOF`);
    expect(ok(r)).toBe('serviceentry.networking.istio.io/se-alb-ext created\ndestinationrule.networking.istio.io/dr-alb-ext created\n');
  });

  const gatewayAndVirtualService = `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata:
  name: eastwestgateway
  namespace: istio-ingress
spec:
  selector:
    app: istio-ingressgateway
    istio: ingressgateway
    istio.io/rev: 1-17
  servers:
    - hosts:
        - lambda.external
      port:
        name: https
        number: 443
        protocol: HTTPS
      tls:
        credentialName: mtls-credential
        # Notice that as we are connecting 2 unrelated Istio meshes, ISTIO_MUTUAL mode is not possible and we should be providing the certs in both sides, but this is fine.
        mode: MUTUAL
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: vs-lambda
  namespace: istio-ingress
spec:
  exportTo:
    - .
  gateways:
    - eastwestgateway
  hosts:
    - lambda.external
  http:
    - match:
        - sourceLabels:
            app: istio-ingressgateway
            istio: ingressgateway
            istio.io/rev: 1-17
          uri:
            prefix: /
      route:
      # All traffic sent to lambda.external host will be forwarded to the ALB, in more complex scenarios we can even create a more elaborated routing
        - destination:
            host: alb.jesus2.solo.io
            port:
              number: 443
`;

  it('applies the Gateway (MUTUAL) and VirtualService, then reports them unchanged on a second apply', async () => {
    const r = await shell(`isthmus apply --server $SERVER -f -<<EOF\n${gatewayAndVirtualService}EOF`);
    expect(ok(r)).toBe('gateway.networking.istio.io/eastwestgateway created\nvirtualservice.networking.istio.io/vs-lambda created\n');
    const again = await isthmus(['apply', '-f', '-'], gatewayAndVirtualService);
    expect(ok(again)).toBe('gateway.networking.istio.io/eastwestgateway unchanged\nvirtualservice.networking.istio.io/vs-lambda unchanged\n');
  });

  it('get gateways -n istio-ingress prints a kubectl-style table', async () => {
    const lines = ok(await isthmus(['get', 'gateways', '-n', 'istio-ingress'])).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+SERVERS\s+HOSTS\s+AGE$/);
    expect(lines[1]).toMatch(/^eastwestgateway\s+443\/HTTPS\/MUTUAL\s+\["lambda\.external"\]\s+\d+s$/);
    expect(lines).toHaveLength(2);
    const vs = ok(await isthmus(['get', 'vs', '-A'])).trimEnd().split('\n');
    expect(vs[0]).toMatch(/^NAMESPACE\s+NAME\s+GATEWAYS\s+HOSTS\s+AGE$/);
    expect(vs[1]).toMatch(/^istio-ingress\s+vs-lambda\s+\["eastwestgateway"\]\s+\["lambda\.external"\]\s+\d+s$/);
    const dr = ok(await isthmus(['get', 'destinationrule', '-n', 'istio-ingress'])).trimEnd().split('\n');
    expect(dr[1]).toMatch(/^dr-alb-ext\s+alb\.jesus2\.solo\.io\s+\d+s$/);
  });

  it('get -o yaml|json shows the stored resource with its resourceVersion', async () => {
    const one = parse(ok(await isthmus(['get', 'gateway/eastwestgateway', '-n', 'istio-ingress', '-o', 'yaml']))) as { kind: string; metadata: { resourceVersion: string }; spec: { servers: Array<{ tls: { mode: string } }> } };
    expect(one.kind).toBe('Gateway');
    expect(one.spec.servers[0]?.tls.mode).toBe('MUTUAL');
    expect(Number(one.metadata.resourceVersion)).toBeGreaterThan(0);
    const list = JSON.parse(ok(await isthmus(['get', 'se', '-n', 'istio-ingress', '-o', 'json']))) as { kind: string; items: Array<{ metadata: { name: string } }> };
    expect(list).toMatchObject({ kind: 'List', items: [{ metadata: { name: 'se-alb-ext' } }] });
  });

  it('create -n istio-ingress secret generic mtls-credential --from-file=... with openssl-made files', async () => {
    const made = await shell(`openssl req -x509 -nodes -days 365 -newkey rsa:2048 \\
   -keyout server.key -out server.crt -subj "/C=NT/ST=Zamunda/O=Solo.io/OU=Solo.io/CN=*" 2>/dev/null
openssl req -x509 -nodes -days 365 -newkey rsa:2048 \\
   -keyout client.key -out client.crt -subj "/C=NT/ST=Wakanda/O=Solo.io/OU=Solo.io/CN=*" 2>/dev/null
isthmus --server $SERVER create -n istio-ingress secret generic mtls-credential \\
  --from-file=key=server.key \\
  --from-file=cert=server.crt \\
  --from-file=cacert=client.crt`);
    expect(ok(made)).toBe('secret/mtls-credential created\n');
    const stored = store.get('Secret', 'istio-ingress', 'mtls-credential')[0]?.resource as { data: Record<string, string> };
    const fingerprint = async (pem: string) => {
      await writeFile(join(work.dir, 'check.crt'), pem);
      return (await openssl(['x509', '-in', join(work.dir, 'check.crt'), '-noout', '-fingerprint', '-sha256'])).stdout;
    };
    expect(await fingerprint(Buffer.from(stored.data['cacert'] ?? '', 'base64').toString())).toBe((await openssl(['x509', '-in', join(work.dir, 'client.crt'), '-noout', '-fingerprint', '-sha256'])).stdout);
    const table = ok(await isthmus(['get', 'secrets', '-n', 'istio-ingress']));
    expect(table).toMatch(/^mtls-credential\s+Opaque\s+3\s+\d+s$/m);

    const again = failed(await isthmus(['create', 'secret', 'generic', 'mtls-credential', '-n', 'istio-ingress', '--from-file=key=server.key', '--from-file=cert=server.crt']));
    expect(again).toContain('already exists');
    const mismatch = failed(await isthmus(['create', 'secret', 'tls', 'wrong', '-n', 'istio-ingress', '--cert', 'server.crt', '--key', 'client.key']));
    expect(mismatch).toContain('the private key does not belong to the certificate');
    expect(ok(await isthmus(['create', 'secret', 'tls', 'server-tls', '-n', 'istio-ingress', '--cert', 'server.crt', '--key', 'server.key']))).toBe('secret/server-tls created\n');
  });

  it('analyze --server reports on the served config like istioctl analyze; warnings alone exit 0', async () => {
    const r = await isthmus(['analyze']);
    expect(ok(r)).toMatch(/^Warning \[IST0129\] \(DestinationRule istio-ingress\/dr-alb-ext\)/m);
    expect(r.stdout).not.toMatch(/^Error/m);
    const json = JSON.parse(ok(await isthmus(['analyze', '-o', 'json']))) as Array<{ code: string }>;
    expect(json.map((m) => m.code)).toContain('IST0129');
  });
});

describe('refusals and deletes', () => {
  it('an invalid apply exits 1, names file, line and field, and changes nothing', async () => {
    await writeFile(join(work.dir, 'bad.yaml'), 'apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata:\n  name: eastwestgateway\n  namespace: istio-ingress\nspec:\n  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [lambda.external]\n    tls: {mode: MUTUALL}\n');
    const before = store.revision();
    const r = await isthmus(['apply', '-f', 'bad.yaml']);
    const stderr = failed(r);
    expect(r.stdout).toBe('');
    expect(stderr).toContain('bad.yaml:10:');
    expect(stderr).toContain('Gateway eastwestgateway.istio-ingress: spec.servers[0].tls.mode: "MUTUALL" is not a valid value');
    expect(stderr).toContain('nothing was changed');
    expect(store.revision()).toBe(before);
  });

  it('kinds Isthmus does not use (the seed\'s sleep Deployment) are applied as ignored, with a warning', async () => {
    const r = await shell(`isthmus apply --server $SERVER -f -<<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: sleep
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sleep
  namespace: sleep
spec:
  replicas: 1
EOF`);
    expect(ok(r)).toBe('namespace/sleep created\ndeployment.apps/sleep ignored\n');
    expect(r.stderr).toContain('Warning: Deployment (apps/v1) is not an Isthmus config kind');
  });

  it('delete -f - removes what the manifest names; get then finds nothing', async () => {
    const r = await shell(`isthmus --server $SERVER delete -f -<<EOF
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: se-alb-ext
  namespace: istio-ingress
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: dr-alb-ext
  namespace: istio-ingress
EOF`);
    expect(ok(r)).toBe('serviceentry.networking.istio.io/se-alb-ext deleted\ndestinationrule.networking.istio.io/dr-alb-ext deleted\n');
    const empty = await isthmus(['get', 'serviceentries', '-n', 'istio-ingress']);
    expect(ok(empty)).toBe('');
    expect(empty.stderr).toBe('No resources found in istio-ingress namespace.\n');
    const missing = failed(await isthmus(['delete', 'se', 'se-alb-ext', '-n', 'istio-ingress']));
    expect(missing).toContain('ServiceEntry se-alb-ext.istio-ingress: not found');
    expect(ok(await isthmus(['delete', 'se', 'se-alb-ext', '-n', 'istio-ingress', '--ignore-not-found']))).toBe('');
  });

  it('get of a missing resource or an unknown kind exits 1 and says what to fix', async () => {
    expect(failed(await isthmus(['get', 'gateway', 'nope', '-n', 'istio-ingress']))).toContain('gateways.networking.istio.io "nope" not found');
    expect(failed(await isthmus(['get', 'frobs']))).toContain('virtualservices (vs)');
  });
});

describe('isthmus analyze -f (offline)', () => {
  it('finds a dangling gateway reference in files, exits 79 like istioctl, and names the file', async () => {
    await writeFile(join(work.dir, 'vs.yaml'), 'apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: vs, namespace: default}\nspec:\n  hosts: [a.example.com]\n  gateways: [missing-gateway]\n  http:\n  - route:\n    - destination: {host: a.example.com}\n');
    const r = await run(process.execPath, [CLI, 'analyze', '-f', 'vs.yaml'], { env: env(), cwd: work.dir });
    expect(r.code).toBe(79);
    expect(r.stdout).toMatch(/^Error \[IST0101\] \(VirtualService default\/vs vs\.yaml:\d+\) .*missing-gateway/m);
    expect(r.stderr).toContain('fix:');
  });

  it('a file that does not validate exits 1 with file and line; clean files exit 0', async () => {
    await writeFile(join(work.dir, 'broken.yaml'), 'apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: dr}\nspec:\n  host: a.example.com\n  trafficPolicy: {tls: {mode: NOPE}}\n');
    const r = await run(process.execPath, [CLI, 'analyze', 'broken.yaml'], { env: env(), cwd: work.dir });
    expect(failed(r)).toContain('broken.yaml:6:');
    await writeFile(join(work.dir, 'clean.yaml'), 'apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata: {name: se}\nspec:\n  hosts: [a.example.com]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n');
    const clean = await run(process.execPath, [CLI, 'analyze', '-f', 'clean.yaml'], { env: env(), cwd: work.dir });
    expect(ok(clean)).toBe('\u2714 No validation issues found when analyzing all namespaces.\n');
  });
});
