import type { Command } from 'commander';
import { formatTable } from '../../common/index.js';
import { action, emit } from '../action.js';
import { connect } from './contexts.js';

interface TypeStatus { state: string }
interface RefusedRow { name: string; peer: string; at: string; reason: string; hint: string }
interface StatusRow { name: string; cluster: string; controlPlane: string; version: string; types: Record<string, TypeStatus>; identity?: { method: string } }

const TYPE_COLUMNS = ['CDS', 'LDS', 'EDS', 'RDS', 'ECDS'] as const;

/** istioctl's words: a response sent and not (yet) acknowledged is STALE. */
const shown = (state: string | undefined) => (state === undefined ? 'NOT SENT' : state === 'PENDING' ? 'STALE' : state);

export function registerProxyStatusCommands(program: Command): void {
  program
    .command('proxy-status')
    .description("the sync state of every proxy connected to the control plane (istioctl proxy-status)")
    .action(action(async (_opts: unknown, cmd: Command) => {
      const client = await connect(cmd);
      const [rows, refused] = await Promise.all([client.proxyStatus() as Promise<StatusRow[]>, client.refusedProxies() as Promise<RefusedRow[]>]);
      // AUTH (mtls, token, none) only when some proxy authenticated: a plaintext-only mesh keeps istioctl's columns.
      const auth = rows.some((r) => r.identity && r.identity.method !== 'none');
      emit(cmd, rows, () => formatTable(
        ['NAME', 'CLUSTER', ...TYPE_COLUMNS, 'ISTIOD', 'VERSION', ...(auth ? ['AUTH'] : [])],
        rows.map((r) => [r.name, r.cluster, ...TYPE_COLUMNS.map((t) => shown(r.types[t]?.state)), r.controlPlane, r.version, ...(auth ? [r.identity?.method ?? 'none'] : [])]),
      ));
      // Proxies turned away (another revision) are not rows; they are named on stderr, so -o json stays the rows.
      for (const r of Array.isArray(refused) ? refused : []) {
        process.stderr.write(`refused: ${r.name} (${r.peer}, ${r.at}): ${r.reason}\n  fix: ${r.hint}\n`);
      }
    }));

  const pc = program.command('proxy-config').description("the Envoy config the control plane sent to a proxy (istioctl proxy-config)");
  const columns: Record<string, string[]> = {
    routes: ['NAME', 'DOMAINS', 'MATCH', 'VIRTUAL SERVICE'],
    listeners: ['ADDRESS', 'PORT', 'MATCH', 'DESTINATION'],
    clusters: ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE'],
    endpoints: ['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'],
    secret: ['RESOURCE NAME'],
  };
  for (const [type, headers] of Object.entries(columns)) {
    const aliases: Record<string, string[]> = { routes: ['route'], listeners: ['listener'], clusters: ['cluster'], endpoints: ['endpoint'], secret: ['secrets'] };
    const sub = pc.command(`${type} <proxy>`).aliases(aliases[type] ?? []).description(`${type} of a proxy (NAME as proxy-status prints it, or its node id; deploy/NAME -n NS as istioctl accepts)`)
      .option('-n, --namespace <ns>', 'namespace of the proxy, with deploy/NAME');
    if (type === 'listeners') sub.option('--port <port>', 'only listeners on this port');
    sub.action(action(async (proxy: string, opts: { namespace?: string; port?: string }, cmd: Command) => {
      const client = await connect(cmd);
      const name = proxy.replace(/^deploy(ment)?\//, '') + (opts.namespace && !proxy.includes('.') ? '' : '');
      const result = (await client.proxyConfig(name, type as never)) as { rows: Array<Record<string, unknown>>; resources: unknown };
      let rows = result.rows;
      if (opts.port) rows = rows.filter((r) => String(r.port) === opts.port);
      emit(cmd, result.resources, () => formatTable(headers, rows.map((r) => Object.values(r).map((v) => (Array.isArray(v) ? v.join(', ') : String(v ?? ''))))));
    }));
  }
}
