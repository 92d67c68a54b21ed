import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Command } from 'commander';
import { IsthmusError, formatTable, parseDuration } from '../../common/index.js';
import { ManagementClient, parsePortMap } from '../../controlplane/index.js';
import { TRACE_HEADER, diagnoseTrace } from '../../proxy/index.js';
import type { TraceDiagnosis, TraceEntry, TraceHop } from '../../proxy/index.js';
import { action, collect, emit } from '../action.js';
import { readContexts, resolveControlPlane } from './contexts.js';

/** A proxy-status row as `proxy-status -o json` prints it (adminAddress/ip/metadata from Isthmus proxies). */
interface ProxyRow {
  name: string;
  nodeId: string;
  adminAddress?: string;
  ip?: string;
  metadata?: Record<string, unknown>;
}

interface ContextProxies {
  context: string;
  proxies: ProxyRow[];
  error?: string;
}

interface ClientResult {
  status?: number;
  statusText?: string;
  error?: string;
  durationMs: number;
  via: string;
}

/** Every configured context's proxies; with no contexts file, the control plane the global flags select. */
async function allProxies(command: Command): Promise<ContextProxies[]> {
  const file = await readContexts();
  const targets = file.contexts.length > 0
    ? file.contexts.map((c) => ({ context: c.name, server: c.server, ...(c.token ? { token: c.token } : {}) }))
    : [await resolveControlPlane(command)].map((t) => ({ ...t, context: t.context ?? 'default' }));
  return Promise.all(targets.map(async (t) => {
    try {
      const client = new ManagementClient(t.token ? { server: t.server, token: t.token } : { server: t.server });
      return { context: t.context, proxies: (await client.proxyStatus()) as ProxyRow[] };
    } catch (err) {
      return { context: t.context, proxies: [], error: (err as Error).message };
    }
  }));
}

function findWorkload(all: ContextProxies[], from: string): { context: string; proxy: ProxyRow } {
  const slash = from.indexOf('/');
  const ctxName = slash >= 0 ? from.slice(0, slash) : undefined;
  const workload = slash >= 0 ? from.slice(slash + 1) : from;
  const scope = ctxName === undefined ? all : all.filter((c) => c.context === ctxName);
  if (ctxName !== undefined && scope.length === 0) {
    throw new IsthmusError('ERR_TRACE_FROM', `no context named "${ctxName}"`, { hint: `use one of: ${all.map((c) => c.context).join(', ')} (isthmus config get-contexts)` });
  }
  const unreachable = scope.find((c) => c.error);
  const matches = scope.flatMap((c) => c.proxies.filter((p) => p.name === workload || p.name.startsWith(workload)).map((p) => ({ context: c.context, proxy: p })));
  const exact = matches.filter((m) => m.proxy.name === workload);
  const pick = exact[0] ?? matches[0];
  if (!pick) {
    throw new IsthmusError('ERR_TRACE_FROM', `no proxy named "${workload}"${ctxName ? ` in context ${ctxName}` : ''}${unreachable ? ` (control plane unreachable: ${unreachable.error})` : ''}`, {
      hint: `isthmus${ctxName ? ` --context ${ctxName}` : ''} proxy-status lists the proxies; WORKLOAD is a NAME or its prefix`,
    });
  }
  if (exact.length === 0 && matches.length > 1) {
    throw new IsthmusError('ERR_TRACE_FROM', `"${workload}" matches several proxies: ${matches.map((m) => `${m.proxy.name} @ ${m.context}`).join(', ')}`, { hint: 'give more of the name' });
  }
  return pick;
}

/** Sends the request through the workload's proxy: its HTTP proxy listener, else its listener for the URL's port. */
function send(url: URL, proxy: ProxyRow, headers: Record<string, string>, timeoutMs: number): Promise<ClientResult> {
  const meta = proxy.metadata ?? {};
  const httpProxyPort = Number(meta.HTTP_PROXY_PORT ?? NaN);
  const urlPort = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const viaProxy = Number.isInteger(httpProxyPort) && httpProxyPort > 0 && url.protocol === 'http:';
  const host = viaProxy ? '127.0.0.1' : (proxy.ip ?? '127.0.0.1');
  const port = viaProxy ? httpProxyPort : parsePortMap(meta.PORT_MAP)[urlPort] || urlPort;
  const via = `${host}:${port}${viaProxy ? ' (HTTP proxy listener)' : ''}`;
  const start = Date.now();
  return new Promise((resolve) => {
    const options = {
      host,
      port,
      method: 'GET',
      path: viaProxy ? url.href : `${url.pathname}${url.search}`,
      setHost: false,
      headers: { host: url.host, ...headers },
      timeout: timeoutMs,
      ...(url.protocol === 'https:' ? { servername: url.hostname, rejectUnauthorized: false } : {}),
    };
    const done = (r: Omit<ClientResult, 'durationMs' | 'via'>) => resolve({ ...r, durationMs: Date.now() - start, via });
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options, (res: IncomingMessage) => {
      res.resume();
      res.once('end', () => done({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '' }));
      res.once('error', (err) => done({ status: res.statusCode ?? 0, error: err.message }));
    });
    req.once('timeout', () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.once('error', (err) => done({ error: err.message }));
    req.end();
  });
}

async function fetchEntries(admin: string, query: string, timeoutMs: number): Promise<TraceEntry[]> {
  const res = await fetch(`http://${admin}/isthmus/trace?${query}`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`admin ${admin} answered ${res.status}`);
  return ((await res.json()) as { entries: TraceEntry[] }).entries;
}

/** Every proxy's entries for the request id, plus connection-level entries (refusals, TCP hops) for the SNIs it used. */
async function collectHops(all: ContextProxies[], requestId: string, sinceMs: number, timeoutMs: number): Promise<{ hops: TraceHop[]; errors: string[] }> {
  const proxies = all.flatMap((c) => c.proxies.filter((p) => p.adminAddress).map((p) => ({ label: `${p.name} @ ${c.context}`, admin: p.adminAddress as string })));
  const errors: string[] = [];
  const byRequest = await Promise.all(proxies.map(async (p) => {
    try {
      return (await fetchEntries(p.admin, `request_id=${encodeURIComponent(requestId)}`, timeoutMs)).map((entry) => ({ proxy: p.label, entry }));
    } catch (err) {
      errors.push(`${p.label}: ${(err as Error).message}`);
      return [];
    }
  }));
  const hops: TraceHop[] = byRequest.flat();
  const snis = new Set(hops.map((h) => h.entry.upstreamTls?.sni).filter((s): s is string => s !== undefined));
  for (const sni of snis) {
    const more = await Promise.all(proxies.map(async (p) => {
      try {
        const entries = await fetchEntries(p.admin, `since=${sinceMs}&sni=${encodeURIComponent(sni)}`, timeoutMs);
        return entries.filter((e) => e.kind !== 'http').map((entry) => ({ proxy: p.label, entry }));
      } catch {
        return [];
      }
    }));
    hops.push(...more.flat());
  }
  return { hops, errors };
}

function peerOf(e: TraceEntry): string {
  const tls = e.upstreamTls;
  if (!tls) return '';
  return tls.peerSpiffeId ?? tls.peerDnsSans?.[0] ?? tls.peerChain?.[0]?.subject ?? '';
}

function resultOf(e: TraceEntry): string {
  const flags = e.responseFlags.length ? e.responseFlags.join(',') : '-';
  if (e.kind === 'listener') return `refused ${flags}`;
  if (e.kind === 'tcp') return `tcp ${flags}`;
  return `${e.responseCode} ${flags}`;
}

function table(d: TraceDiagnosis): string {
  return formatTable(
    ['HOP', 'PROXY', 'LISTENER', 'ROUTE', 'CLUSTER', 'SNI', 'PEER', 'RESULT', 'TIME'],
    d.hops.map((h, i) => {
      const e = h.entry;
      const route = e.route ?? (e.virtualHost ? `${e.virtualHost}${e.routeMatch ? ` ${e.routeMatch}` : ''}` : '');
      return [String(i + 1), h.proxy, `${e.listener ?? ''}${e.filterChain ? ` [${e.filterChain}]` : ''}`, route, e.cluster ?? '', e.upstreamTls?.sni ?? '', peerOf(e), resultOf(e), `${e.durationMs}ms`];
    }),
  );
}

/** Entries show up when streams complete, just after the client's response: read until the set stops growing. */
async function settle(all: ContextProxies[], requestId: string, sinceMs: number, timeoutMs: number): Promise<{ hops: TraceHop[]; errors: string[] }> {
  let last = await collectHops(all, requestId, sinceMs, timeoutMs);
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 150));
    const next = await collectHops(all, requestId, sinceMs, timeoutMs);
    if (next.hops.length === last.hops.length && i > 0) return next;
    last = next;
  }
  return last;
}

export function registerTraceCommand(program: Command): void {
  program
    .command('trace <url>')
    .description('send one request through a workload\'s proxy and follow it across every proxy of every context; names the hop that failed')
    .requiredOption('--from <ctx/workload>', 'where the request starts: CONTEXT/WORKLOAD, WORKLOAD a proxy-status NAME or its prefix (e.g. meshA/istio-egressgateway)')
    .option('-H, --header <name:value>', 'a request header (repeatable)', collect, [])
    .option('--timeout <duration>', 'how long the request may take', '5s')
    .action(action(async (rawUrl: string, opts: { from: string; header: string[]; timeout: string }, cmd: Command) => {
      let url: URL;
      try {
        url = new URL(rawUrl);
      } catch {
        throw new IsthmusError('ERR_TRACE_URL', `"${rawUrl}" is not a URL`, { hint: 'e.g. isthmus trace http://lambda.external/hello-world --from meshA/sleep' });
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new IsthmusError('ERR_TRACE_URL', `${url.protocol} URLs are not supported`, { hint: 'use http:// or https://' });
      const timeoutMs = parseDuration(opts.timeout, '--timeout');
      const headers: Record<string, string> = {};
      for (const h of opts.header) {
        const colon = h.indexOf(':');
        if (colon <= 0) throw new IsthmusError('ERR_TRACE_HEADER', `--header "${h}" is not name:value`, { hint: 'e.g. --header x-user:alice' });
        headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
      }
      const requestId = randomUUID();
      headers['x-request-id'] = requestId;
      // Every proxy on the path records a marked request, however many successes it samples out.
      headers[TRACE_HEADER] = '1';
      const all = await allProxies(cmd);
      const from = findWorkload(all, opts.from);
      const sinceMs = Date.now();
      const client = await send(url, from.proxy, headers, timeoutMs);
      const { hops, errors } = await settle(all, requestId, sinceMs, Math.min(timeoutMs, 3_000));
      const diagnosis = diagnoseTrace(hops, client.status);
      const clientFailure = client.status === undefined
        ? { hop: 0, proxy: `${from.proxy.name} @ ${from.context}`, reason: 'upstream down', detail: `cannot reach the proxy at ${client.via}: ${client.error ?? ''}` }
        : undefined;
      const failure = diagnosis.failure ?? clientFailure ?? (client.status !== undefined && client.status >= 400 ? { hop: 0, proxy: `${from.proxy.name} @ ${from.context}`, reason: 'upstream returned an error', detail: `status ${client.status} with no hop recorded` } : undefined);
      const ok = client.status !== undefined && client.status >= 200 && client.status < 400;
      const unreachable = [...all.filter((c) => c.error).map((c) => `context ${c.context}: ${c.error}`), ...errors];
      const data = {
        requestId, url: url.href, from: `${from.proxy.name} @ ${from.context}`, via: client.via,
        status: client.status ?? null, ...(client.error ? { error: client.error } : {}), durationMs: client.durationMs,
        hops: diagnosis.hops.map((h, i) => ({ hop: i + 1, proxy: h.proxy, ...h.entry })),
        ...(failure && !ok ? { failure } : {}),
        ...(unreachable.length ? { unreachable } : {}),
      };
      emit(cmd, data, () => {
        const lines = [`request ${requestId}: GET ${url.href} from ${data.from} via ${client.via}`, ''];
        lines.push(diagnosis.hops.length ? table(diagnosis).trimEnd() : '(no proxy recorded this request)');
        lines.push('');
        lines.push(client.status !== undefined ? `response: ${client.status} ${client.statusText ?? ''}`.trimEnd() + ` (${client.durationMs} ms)` : `response: none (${client.error ?? 'no response'})`);
        if (failure && !ok) lines.push(`FAILED at hop ${failure.hop || '-'} (${failure.proxy}): ${failure.reason}: ${failure.detail}`);
        for (const u of unreachable) lines.push(`warning: not traced: ${u}`);
        return `${lines.join('\n')}\n`;
      });
      if (!ok) process.exitCode = 1;
    }));
}
