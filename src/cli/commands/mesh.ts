/**
 * isthmus mesh export SERVICE --from CTX --to CTX: the first seed's steps 4 and 5 in one command. The
 * service of the `--from` mesh becomes http://NAME in the `--to` mesh, through the importer's egress
 * gateway, mutual TLS between the gateways with certificates from each mesh's own CA (no shared root:
 * each side trusts the other's bundle), and the exporter's ingress gateway.
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { IsthmusError, formatTable, parseDuration } from '../../common/index.js';
import {
  DEFAULT_EGRESS, DEFAULT_INGRESS, EXPORT_TLS_PORT, IMPORT_PORT, ManagementApiError, ManagementClient, checkCredential, checkTrustBundle, credentialSecret,
  decideCredential, defaultImportHost, exportSideResources, importSideResources, linkIdentities, linkNames, manifestsYaml, redactSecret, selectorFromLabels,
} from '../../controlplane/index.js';
import type {
  CredentialDecision, CredentialExpectation, CredentialPem, ExistingCredential, ExportPlan, GatewayEndpoint, GatewayWorkload, LinkManifest, ResultItem,
} from '../../controlplane/index.js';
import { action, collect, outputFormat } from '../action.js';
import { contextsPath, readContexts } from './contexts.js';
import {
  egressListenPort, findGateway, gatewayHasLink, ingressListenPort, latestVersions, parseHostPort, probe, proxyStatusRows, syncState,
} from './mesh-gateways.js';
import type { FoundGateway } from './mesh-gateways.js';

interface ExportOptions {
  from: string; to: string; host?: string; port?: string; ingressNamespace: string; ingressSelector: string[]; ingressServiceAccount?: string;
  egressNamespace: string; egressSelector: string[]; egressServiceAccount?: string; egressService?: string; gatewayAddress?: string; verifyVia?: string;
  verify: boolean; verifyPath: string; dryRun?: boolean; renew?: boolean; certTtl: string; timeout: string;
}

interface Side {
  readonly label: 'from' | 'to';
  readonly context: string;
  readonly client: ManagementClient;
}

/** A mesh by context name (from the contexts file) or by management URL. */
async function openMesh(name: string, label: 'from' | 'to'): Promise<Side> {
  const envToken = process.env['ISTHMUS_TOKEN'] || undefined;
  if (/^https?:\/\//.test(name)) return { label, context: name, client: new ManagementClient({ server: name, ...(envToken ? { token: envToken } : {}) }) };
  const file = await readContexts();
  const found = file.contexts.find((c) => c.name === name);
  if (!found) {
    throw new IsthmusError('ERR_CONTEXT_NOT_FOUND', `--${label}: no context named "${name}" in ${contextsPath()}`, {
      hint: `create it with isthmus config set-context ${name} --server URL, or pick one of: ${file.contexts.map((c) => c.name).join(', ') || '(none yet)'}`,
    });
  }
  const token = found.token ?? envToken;
  return { label, context: name, client: new ManagementClient({ server: found.server, ...(token ? { token } : {}) }) };
}

function labelPairs(list: readonly string[], flag: string): Record<string, string> | undefined {
  if (list.length === 0) return undefined;
  return Object.fromEntries(list.map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new IsthmusError('ERR_MESH_EXPORT_FLAG', `${flag} "${item}" is not key=value`, { hint: `write ${flag} istio=ingressgateway` });
    return [item.slice(0, eq), item.slice(eq + 1)];
  }));
}

/** "[n] title ... ok (12 ms)" on the progress stream (stderr when stdout carries YAML/JSON). */
function stepper(out: NodeJS.WritableStream) {
  let n = 0;
  return async <T>(title: string, fn: (note: (text: string) => void) => Promise<T>): Promise<T> => {
    n += 1;
    out.write(`[${n}] ${title} ... `);
    const started = performance.now();
    const note = (text: string) => out.write(`${text} `);
    try {
      const result = await fn(note);
      out.write(`ok (${Math.round(performance.now() - started)} ms)\n`);
      return result;
    } catch (err) {
      out.write('FAILED\n');
      throw err;
    }
  };
}

async function existingCredential(side: Side, name: string, namespace: string): Promise<ExistingCredential | undefined> {
  try {
    const found = await side.client.resources({ kind: 'Secret', namespace, name });
    const data = (found.items[0]?.resource as { data?: Record<string, string> } | undefined)?.data ?? {};
    const text = (k: string) => Buffer.from(data[k] ?? '', 'base64').toString('utf8');
    return { certificateChainPem: text('cert'), privateKeyPem: text('key'), caPem: text('cacert') };
  } catch (err) {
    if (err instanceof ManagementApiError && err.status === 404) return undefined;
    throw err;
  }
}

interface Credential {
  readonly side: Side;
  readonly secret: LinkManifest;
  readonly decision: CredentialDecision;
  readonly existed: boolean;
  readonly spiffeId: string;
  notAfter: string;
  /** On a dry run, what would be issued in place of the certificate. */
  readonly pending?: string;
}

async function applyManifests(side: Side, manifests: readonly LinkManifest[], dryRun: boolean): Promise<readonly ResultItem[]> {
  const text = manifests.map((m) => stringify(m, { lineWidth: 0 })).join('---\n');
  const res = await side.client.apply(text, { source: `mesh export (${side.label} ${side.context})`, dryRun });
  return res.results;
}

/** Writes a gateway credential: created through the secrets API, replaced through apply (Secrets are create-only there). */
async function writeCredential(cred: Credential): Promise<string> {
  if (cred.decision.action === 'reuse') return 'unchanged';
  const data = cred.secret.data ?? {};
  if (!cred.existed) {
    const res = await cred.side.client.createSecret({ type: 'generic', name: cred.secret.metadata.name, namespace: cred.secret.metadata.namespace, data });
    return res.results[0]?.action ?? 'created';
  }
  return (await applyManifests(cred.side, [cred.secret], false))[0]?.action ?? 'configured';
}

async function waitUntil<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new IsthmusError('ERR_MESH_EXPORT_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}`, { hint: 'check isthmus proxy-status on both contexts; raise --timeout' });
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits for a gateway to ACK a config that holds the link (and, if its side changed, a newer one than before). */
async function waitSynced(side: Side, gateway: FoundGateway, role: 'ingress' | 'egress', host: string, credential: string, before: string | undefined, timeoutMs: number, note: (t: string) => void): Promise<void> {
  const started = Date.now();
  let last = '';
  await waitUntil(`${gateway.name} (${side.context}) to be SYNCED`, timeoutMs, async () => {
    const row = (await proxyStatusRows(side.client)).find((r) => r.nodeId === gateway.nodeId);
    const state = syncState(row);
    if (state.nack) throw new IsthmusError('ERR_MESH_EXPORT_NACK', `${gateway.name} (${side.context}) rejected its config: ${state.nack}`, { hint: `isthmus --context ${side.context} proxy-status -o json shows the NACK` });
    if (state.summary !== last) {
      note(state.summary || 'waiting');
      last = state.summary;
    }
    // A change made by this run shows as new versions; a short grace covers changes the proxy does not see.
    const moved = before === undefined || latestVersions(row) !== before || Date.now() - started > 3_000;
    return state.synced && moved && (await gatewayHasLink(side.client, gateway, role, host, credential)) ? true : undefined;
  });
}

export function registerMeshCommands(program: Command): void {
  const mesh = program.command('mesh').description('links between meshes: export a service of one mesh to another');
  mesh.command('export <service>')
    .description("make SERVICE of the --from mesh reachable in the --to mesh as http://NAME, through the --to egress gateway, mutual TLS between the gateways (each mesh's own CA, trust bundles exchanged) and the --from ingress gateway (seed 000 steps 4-5)")
    .requiredOption('--from <context>', 'the mesh that has SERVICE (a context name, or a management URL)')
    .requiredOption('--to <context>', 'the mesh that gets to call it')
    .option('--host <name>', 'the name in the --to mesh (default: the first label of SERVICE + ".external", e.g. alb.external)')
    .option('--port <port>', "SERVICE's port (default: its first port)")
    .option('--ingress-namespace <ns>', '--from ingress gateway namespace', DEFAULT_INGRESS.namespace)
    .option('--ingress-selector <key=value>', '--from ingress gateway labels for the Gateway selector (repeatable; default: its labels from proxy-status, else istio=ingressgateway)', collect, [])
    .option('--ingress-service-account <sa>', `--from ingress gateway service account, for its SPIFFE id (default: from proxy-status, else ${DEFAULT_INGRESS.serviceAccount})`)
    .option('--egress-namespace <ns>', '--to egress gateway namespace', DEFAULT_EGRESS.namespace)
    .option('--egress-selector <key=value>', '--to egress gateway labels (repeatable; default: from proxy-status, else istio=egressgateway)', collect, [])
    .option('--egress-service-account <sa>', `--to egress gateway service account (default: from proxy-status, else ${DEFAULT_EGRESS.serviceAccount})`)
    .option('--egress-service <host>', 'the egress gateway service host sidecars send to (default: istio-egressgateway.<egress namespace>.svc.cluster.local)')
    .option('--gateway-address <host:port>', "where the --to mesh reaches the --from ingress gateway's TLS port (default: discovered from --from proxy-status)")
    .option('--verify-via <host:port>', "the --to egress gateway's HTTP address for the check request (default: discovered)")
    .option('--verify-path <path>', 'path of the check request', '/')
    .option('--no-verify', 'skip waiting for the gateways and the check request')
    .option('--dry-run', 'print what would be applied on both sides (secrets redacted) and change nothing')
    .option('--renew', 'issue new gateway certificates even if the current ones are good')
    .option('--cert-ttl <duration>', 'lifetime of the gateway certificates (renewed by a later run past half of it)', '30d')
    .option('--timeout <duration>', 'how long to wait for the gateways', '60s')
    .action(action(async (service: string, opts: ExportOptions, cmd: Command) => exportService(service, opts, cmd)));
}

async function exportService(service: string, opts: ExportOptions, cmd: Command): Promise<void> {
  const format = outputFormat(cmd);
  const progress = format === 'table' && !opts.dryRun ? process.stdout : process.stderr;
  const step = stepper(progress);
  const timeoutMs = parseDuration(opts.timeout, '--timeout');
  const ttlMs = parseDuration(opts.certTtl, '--cert-ttl');
  if (opts.from === opts.to) throw new IsthmusError('ERR_MESH_EXPORT_FLAG', '--from and --to name the same mesh', { hint: 'export between two meshes (two contexts)' });
  const from = await openMesh(opts.from, 'from');
  const to = await openMesh(opts.to, 'to');

  // 1. Both meshes: trust bundles, the service, the gateways.
  const found = await step(`read ${from.context} (from) and ${to.context} (to): CA roots, services, proxy-status`, async () => {
    const [fromRoots, toRoots, services, fromRows, toRows] = await Promise.all([from.client.caRoots(), to.client.caRoots(), from.client.services(), proxyStatusRows(from.client), proxyStatusRows(to.client)]);
    return { fromRoots, toRoots, services, fromRows, toRows };
  });
  const { fromRoots, toRoots } = found;
  checkTrustBundle(fromRoots.rootsPem, from.context);
  checkTrustBundle(toRoots.rootsPem, to.context);
  const svc = found.services.items.find((s) => s.hostname === service);
  if (!svc) {
    throw new IsthmusError('ERR_MESH_EXPORT_SERVICE', `no service "${service}" in the registry of ${from.context}`, {
      hint: `apply its ServiceEntry first; known hosts: ${found.services.items.map((s) => s.hostname).slice(0, 10).join(', ') || '(none)'}`,
    });
  }
  const port = opts.port === undefined ? svc.ports[0]?.number : Number(opts.port);
  if (port === undefined || !svc.ports.some((p) => p.number === port)) {
    throw new IsthmusError('ERR_MESH_EXPORT_SERVICE', `service ${service} has no port ${opts.port ?? ''}`.trim(), { hint: `use --port with one of: ${svc.ports.map((p) => p.number).join(', ') || '(none)'}` });
  }
  const host = opts.host ?? defaultImportHost(service);

  const ingressSelector = labelPairs(opts.ingressSelector, '--ingress-selector');
  const egressSelector = labelPairs(opts.egressSelector, '--egress-selector');
  const ingressGw = findGateway(found.fromRows, { namespace: opts.ingressNamespace, selector: ingressSelector ?? DEFAULT_INGRESS.selector, role: 'ingressgateway' });
  const egressGw = findGateway(found.toRows, { namespace: opts.egressNamespace, selector: egressSelector ?? DEFAULT_EGRESS.selector, role: 'egressgateway' });
  const workload = (gw: FoundGateway | undefined, namespace: string, selector: Record<string, string> | undefined, sa: string | undefined, defaults: GatewayWorkload): GatewayWorkload => ({
    namespace,
    selector: selector ?? (gw?.labels ? selectorFromLabels(gw.labels) : defaults.selector),
    serviceAccount: sa ?? gw?.serviceAccount ?? defaults.serviceAccount,
  });
  const plan: ExportPlan = {
    service: { hostname: service, port },
    host,
    from: { trustDomain: fromRoots.trustDomain, ingress: workload(ingressGw, opts.ingressNamespace, ingressSelector, opts.ingressServiceAccount, DEFAULT_INGRESS) },
    to: {
      trustDomain: toRoots.trustDomain,
      egress: workload(egressGw, opts.egressNamespace, egressSelector, opts.egressServiceAccount, DEFAULT_EGRESS),
      egressServiceHost: opts.egressService ?? `istio-egressgateway.${opts.egressNamespace}.svc.cluster.local`,
    },
  };
  const names = linkNames(host);
  const ids = linkIdentities(plan);
  const verify = opts.verify && !opts.dryRun;
  if (verify && !ingressGw) {
    throw new IsthmusError('ERR_MESH_EXPORT_GATEWAY', `no ingress gateway of ${from.context} in namespace ${opts.ingressNamespace} is connected (proxy-status)`, {
      hint: 'start it, or pass --ingress-namespace/--ingress-selector; with --gateway-address and --no-verify the resources are applied without it',
    });
  }
  if (verify && !egressGw && !opts.verifyVia) {
    throw new IsthmusError('ERR_MESH_EXPORT_GATEWAY', `no egress gateway of ${to.context} in namespace ${opts.egressNamespace} is connected (proxy-status)`, { hint: 'start it, pass --verify-via HOST:PORT, or --no-verify' });
  }
  if (!opts.gatewayAddress && !ingressGw) {
    throw new IsthmusError('ERR_MESH_EXPORT_GATEWAY', `cannot discover the address of ${from.context}'s ingress gateway (none connected in ${opts.ingressNamespace})`, { hint: 'pass --gateway-address HOST:PORT (its load balancer address and TLS port)' });
  }

  // 2. Credentials: reuse what is still good, issue what is missing or due, and check both before applying anything.
  const serverExpect: CredentialExpectation = { role: 'server', mesh: from.context, rootsPem: fromRoots.rootsPem, trustDomain: fromRoots.trustDomain, spiffeId: ids.server, dnsName: host };
  const clientExpect: CredentialExpectation = { role: 'client', mesh: to.context, rootsPem: toRoots.rootsPem, trustDomain: toRoots.trustDomain, spiffeId: ids.client };
  const credentials = await step('gateway credentials: each mesh\'s CA, the other mesh\'s trust bundle', async (note) => {
    const make = async (side: Side, namespace: string, expect: CredentialExpectation, peerRootsPem: string, dnsNames: string[]): Promise<Credential> => {
      const existing = await existingCredential(side, names.credential, namespace);
      const decision = decideCredential(existing, expect, peerRootsPem, { ...(opts.renew ? { renew: true } : {}) });
      let pem: CredentialPem;
      let notAfter = '';
      let pending: string | undefined;
      if (decision.action === 'issue' && !opts.dryRun) {
        const issued = await side.client.issueCertificate({ authority: 'mesh', spiffeId: expect.spiffeId, ...(dnsNames.length ? { dnsNames } : {}), ttlMs });
        pem = { certificateChainPem: issued.certificateChainPem, privateKeyPem: issued.privateKeyPem, caPem: peerRootsPem };
        notAfter = issued.notAfter;
      } else if (existing && decision.action !== 'issue') {
        pem = { ...existing, caPem: peerRootsPem };
      } else {
        pending = `(to be issued by ${side.context}: ${expect.spiffeId}${dnsNames.length ? `, DNS ${dnsNames.join(', ')}` : ''})`;
        pem = { certificateChainPem: '', privateKeyPem: '', caPem: peerRootsPem };
      }
      note(`${side.context}: ${decision.action === 'reuse' ? 'kept' : decision.action === 'update-bundle' ? 'new bundle' : opts.dryRun ? 'would issue' : 'issued'}`);
      const secret = credentialSecret(names.credential, namespace, names.slug, pem);
      return { side, secret, decision, existed: existing !== undefined, spiffeId: expect.spiffeId, notAfter, ...(pending ? { pending } : {}) };
    };
    const server = await make(from, plan.from.ingress.namespace, serverExpect, toRoots.rootsPem, [host]);
    const client = await make(to, plan.to.egress.namespace, clientExpect, fromRoots.rootsPem, []);
    if (!opts.dryRun) {
      const pemOf = (c: Credential) => ({ chain: Buffer.from(c.secret.data?.['cert'] ?? '', 'base64').toString(), key: Buffer.from(c.secret.data?.['key'] ?? '', 'base64').toString() });
      // What the peers will check: the egress gateway verifies the server against from's bundle, the ingress gateway the client against to's.
      server.notAfter = checkCredential(pemOf(server).chain, pemOf(server).key, serverExpect).notAfter.toISOString();
      client.notAfter = checkCredential(pemOf(client).chain, pemOf(client).key, clientExpect).notAfter.toISOString();
    }
    return { server, client };
  });

  const fromResources = exportSideResources(plan);
  if (opts.dryRun) {
    let endpoint: GatewayEndpoint | undefined = opts.gatewayAddress ? parseHostPort(opts.gatewayAddress, '--gateway-address') : undefined;
    if (!endpoint && ingressGw) {
      const listen = await ingressListenPort(from.client, ingressGw, host);
      endpoint = { address: ingressGw.ip, port: listen ?? EXPORT_TLS_PORT };
      if (listen === undefined) process.stderr.write(`warning: ${ingressGw.name} does not serve ${host} yet; the endpoint assumes port ${EXPORT_TLS_PORT} (pass --gateway-address to set it)\n`);
    }
    const toResources = importSideResources(plan, endpoint as GatewayEndpoint);
    const [fromResults, toResults] = await Promise.all([applyManifests(from, fromResources, true), applyManifests(to, toResources, true)]);
    const would = (results: readonly ResultItem[]) => results.map((r) => `${r.kind.toLowerCase()}/${r.name} ${r.action}`).join(', ');
    const secretNote = (c: Credential) => `secret/${c.secret.metadata.name}: ${c.decision.action} (${c.decision.reason}); key material redacted`;
    const shown = (c: Credential): LinkManifest => {
      const redacted = redactSecret(c.secret);
      return c.pending ? { ...redacted, data: { ...redacted.data, cert: c.pending } } : redacted;
    };
    process.stdout.write(manifestsYaml([
      `${from.context} (--from, exports ${service}:${port} as ${host}): ${from.client.server}`,
      `server dry run: ${would(fromResults)}`, secretNote(credentials.server),
    ], [...fromResources, shown(credentials.server)]));
    process.stdout.write(manifestsYaml([
      `${to.context} (--to, calls http://${host}): ${to.client.server}`,
      `server dry run: ${would(toResults)}`, secretNote(credentials.client),
    ], [...toResources, shown(credentials.client)]));
    return;
  }

  // 3. The exporting side, then (with its gateway's address) the importing side.
  const beforeFrom = ingressGw ? latestVersions(found.fromRows.find((r) => r.nodeId === ingressGw.nodeId)) : undefined;
  const beforeTo = egressGw ? latestVersions(found.toRows.find((r) => r.nodeId === egressGw.nodeId)) : undefined;
  const rows: string[][] = [];
  const fromChanged = await step(`apply on ${from.context}: secret ${names.credential}, Gateway and VirtualService in ${plan.from.ingress.namespace}`, async () => {
    const secretAction = await writeCredential(credentials.server);
    const results = await applyManifests(from, fromResources, false);
    rows.push(['from', from.context, `secret/${names.credential}`, secretAction]);
    for (const r of results) rows.push(['from', from.context, `${r.kind.toLowerCase()}/${r.name}`, r.action]);
    return secretAction !== 'unchanged' || results.some((r) => r.action !== 'unchanged');
  });
  if (verify && ingressGw) {
    await step(`wait for ${ingressGw.name} (${from.context}) to be SYNCED`, (note) => waitSynced(from, ingressGw, 'ingress', host, names.credential, fromChanged ? beforeFrom : undefined, timeoutMs, note));
  }
  const endpoint = opts.gatewayAddress ? parseHostPort(opts.gatewayAddress, '--gateway-address') : await step(`discover ${from.context}'s ingress gateway address`, async (note) => {
    const gw = ingressGw as FoundGateway;
    const listen = await waitUntil(`${gw.name} to serve ${host}`, timeoutMs, () => ingressListenPort(from.client, gw, host));
    note(`${gw.ip}:${listen}`);
    return { address: gw.ip, port: listen };
  });
  const toResources = importSideResources(plan, endpoint);
  const toChanged = await step(`apply on ${to.context}: secret ${names.credential}, ServiceEntry, DestinationRules, Gateway, VirtualService in ${plan.to.egress.namespace}`, async () => {
    const secretAction = await writeCredential(credentials.client);
    const results = await applyManifests(to, toResources, false);
    rows.push(['to', to.context, `secret/${names.credential}`, secretAction]);
    for (const r of results) rows.push(['to', to.context, `${r.kind.toLowerCase()}/${r.name}`, r.action]);
    return secretAction !== 'unchanged' || results.some((r) => r.action !== 'unchanged');
  });

  // 4. End to end: both gateways synced, then one request through the egress gateway.
  let check: { via: string; status: number; ms: number } | undefined;
  if (verify) {
    if (egressGw) await step(`wait for ${egressGw.name} (${to.context}) to be SYNCED`, (note) => waitSynced(to, egressGw, 'egress', host, names.credential, toChanged ? beforeTo : undefined, timeoutMs, note));
    const via = opts.verifyVia ? parseHostPort(opts.verifyVia, '--verify-via') : await (async () => {
      const gw = egressGw as FoundGateway;
      const listen = await waitUntil(`${gw.name} to route ${host}`, timeoutMs, () => egressListenPort(to.client, gw, host));
      return { address: gw.ip, port: listen };
    })();
    check = await step(`GET http://${host}${opts.verifyPath} via ${to.context}'s egress gateway ${via.address}:${via.port}`, async (note) => {
      const deadline = Date.now() + Math.min(timeoutMs, 15_000);
      for (;;) {
        const started = performance.now();
        let status = 0;
        let failure = '';
        try {
          status = (await probe(via.address, via.port, host, opts.verifyPath, 10_000)).status;
        } catch (err) {
          failure = (err as Error).message;
        }
        // A fresh credential can take a moment to reach a gateway: retry 5xx and connection errors briefly.
        if (status >= 200 && status < 400) {
          note(`HTTP ${status}`);
          return { via: `${via.address}:${via.port}`, status, ms: Math.round(performance.now() - started) };
        }
        if (Date.now() > deadline || (status >= 400 && status < 500)) {
          throw new IsthmusError('ERR_MESH_EXPORT_VERIFY', `the request for http://${host}${opts.verifyPath} through ${to.context}'s egress gateway (${via.address}:${via.port}) ${status ? `got HTTP ${status}` : `failed: ${failure}`}`, {
            hint: `check isthmus --context ${to.context} proxy-config clusters and --context ${from.context} proxy-config listeners, and the gateways' logs (TLS errors name the failing side)`,
          });
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    });
  }

  const changed = rows.filter((r) => r[3] !== 'unchanged').length;
  const summary = {
    service: `${service}:${port}`, host, from: from.context, to: to.context, gatewayAddress: `${endpoint.address}:${endpoint.port}`,
    resources: rows.map(([side, context, resource, act]) => ({ side, context, resource, action: act })),
    certificates: [credentials.server, credentials.client].map((c) => ({ side: c.side.label, context: c.side.context, spiffeId: c.spiffeId, notAfter: c.notAfter, action: c.decision.action, reason: c.decision.reason })),
    ...(check ? { verify: check } : {}),
  };
  if (format !== 'table') {
    process.stdout.write(format === 'json' ? `${JSON.stringify(summary, null, 2)}\n` : stringify(summary));
    return;
  }
  process.stdout.write(`\n${formatTable(['SIDE', 'CONTEXT', 'RESOURCE', 'ACTION'], rows)}`);
  process.stdout.write(`\n${formatTable(['SIDE', 'CONTEXT', 'IDENTITY', 'EXPIRES', 'CERTIFICATE'], summary.certificates.map((c) => [c.side, c.context, c.spiffeId, c.notAfter, `${c.action}: ${c.reason}`]))}`);
  process.stdout.write(`\n${service}:${port} (${from.context}) is http://${host}:${IMPORT_PORT} in ${to.context} via ${endpoint.address}:${endpoint.port}; ${changed === 0 ? 'unchanged' : `${changed} change${changed === 1 ? '' : 's'}`}`
    + `${check ? `; check: HTTP ${check.status} via ${check.via}` : verify ? '' : ' (not verified)'}\n`);
}
