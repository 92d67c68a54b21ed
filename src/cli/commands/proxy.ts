import type { Command } from 'commander';
import { pino } from 'pino';
import cluster from 'node:cluster';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { IsthmusError, parseDuration, writeFileAtomic } from '../../common/index.js';
import { loadBootstrapFile } from '../../envoy/index.js';
import { ProxyPrimary, ProxyServer, WORKER_INDEX_ENV, WorkloadCertificateManager, envoyXdsCodec, runWorker, xdsBootstrap } from '../../proxy/index.js';
import type { XdsBootstrapOptions } from '../../proxy/index.js';
import type { LoadedBootstrap } from '../../envoy/index.js';
import { action, collect } from '../action.js';

function pairs(list: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new IsthmusError('ERR_PROXY_CONFIG', `${flag} "${item}" is not key=value`, { hint: `write ${flag} app=istio-ingressgateway` });
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** The bootstrap for --xds: node identity and metadata from the flags, ADS to the control plane. */
interface XdsFlags {
  xds?: string; nodeId?: string; nodeCluster?: string; proxyType: string; namespace?: string; label: string[]; portMap?: string; meta: string[]; adminPort: string; ip?: string;
  xdsTls?: boolean; xdsRootCa?: string; xdsServerName: string; caRoot?: string; caAddress?: string; bootstrapToken?: string;
}

/**
 * --xds-tls: the xds-grpc cluster verifies the control plane against the mesh root and istiod's name, and
 * presents the workload certificate --ca-address keeps in the SDS secret "default"; the bootstrap token
 * rides along as "authorization: Bearer" (the control plane looks at it only while there is no certificate).
 */
function xdsTlsOptions(opts: XdsFlags): Pick<XdsBootstrapOptions, 'tls' | 'token'> {
  if (!opts.xdsTls) return {};
  const caFile = opts.xdsRootCa ?? opts.caRoot;
  if (!caFile) throw new IsthmusError('ERR_PROXY_CONFIG', '--xds-tls needs the roots that verify the control plane', { hint: "pass the mesh's root-cert.pem with --xds-root-ca (or --ca-root)" });
  return {
    tls: { caFile, serverName: opts.xdsServerName, ...(opts.caAddress ? { certificateSecret: WORKLOAD_CERTIFICATE_SECRET } : {}) },
    ...(opts.bootstrapToken ? { token: opts.bootstrapToken } : {}),
  };
}

function xdsLoaded(opts: XdsFlags): LoadedBootstrap {
  const namespace = opts.namespace ?? 'default';
  const nodeId = opts.nodeId ?? `${opts.proxyType}~${opts.ip ?? '127.0.0.1'}~isthmus-proxy-${process.pid}.${namespace}~${namespace}.svc.cluster.local`;
  const metadata: Record<string, unknown> = { NAMESPACE: namespace, PROXY_TYPE: opts.proxyType, LABELS: pairs(opts.label, '--label'), ...(opts.ip ? { INSTANCE_IPS: opts.ip } : {}), ...pairs(opts.meta, '--meta') };
  if (opts.portMap) metadata.PORT_MAP = opts.portMap;
  const bootstrap = xdsBootstrap({
    address: opts.xds as string,
    nodeId,
    ...(opts.nodeCluster ? { nodeCluster: opts.nodeCluster } : {}),
    metadata: metadata as Record<string, string>,
    adminPort: Number(opts.adminPort),
    ...xdsTlsOptions(opts),
  });
  return { bootstrap, baseDir: process.cwd(), source: `--xds ${opts.xds}` };
}

/** --concurrency: a worker count, or auto (one per CPU), as Envoy's flag. */
function parseConcurrency(value: string): number {
  if (value === 'auto') return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new IsthmusError('ERR_PROXY_CONFIG', `--concurrency "${value}" is not a worker count`, { hint: 'give a whole number >= 1, or auto (one worker per CPU)' });
  return n;
}

/** The SDS name of the workload certificate (istio-agent's), which --ca-address keeps fresh. */
const WORKLOAD_CERTIFICATE_SECRET = 'default';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'critical', 'off'];

export function registerProxyCommand(program: Command): void {
  program
    .command('proxy')
    .description('run the Isthmus proxy from an Envoy v3 bootstrap file (-c) or from a control plane over ADS (--xds)')
    .option('-c, --config-path <file>', 'Envoy v3 bootstrap, YAML or JSON')
    .option('-l, --log-level <level>', `log level: ${LEVELS.join(', ')}`, 'info')
    .option('--drain-time-s <seconds>', 'on SIGTERM, how long open connections may finish', '5')
    .option('--xds <host:port>', 'get listeners, routes, clusters, endpoints and secrets from a control plane over ADS')
    .option('--xds-tls', "ADS over TLS (the control plane's --xds-tls-address, Istio's 15012): verify it against --xds-root-ca and --xds-server-name, authenticate with the workload certificate (--ca-address) or, before there is one, --bootstrap-token")
    .option('--xds-root-ca <file>', 'PEM roots that verify the control plane with --xds-tls (default: --ca-root)')
    .option('--xds-server-name <name>', "the name the control plane's certificate must carry, with --xds-tls", 'istiod.istio-system.svc')
    .option('--node-id <id>', "the proxy's xDS node id (Istio form: router~IP~NAME.NAMESPACE~NAMESPACE.svc.cluster.local)")
    .option('--node-cluster <name>', 'the xDS node cluster (default: from the node id)')
    .option('--proxy-type <type>', 'router (a gateway) or sidecar', 'sidecar')
    .option('--namespace <ns>', 'namespace of the proxy (node metadata NAMESPACE)')
    .option('--label <key=value>', 'a workload label, as Gateway selectors match them (repeatable)', collect, [])
    .option('--ip <address>', "the proxy's instance (pod) IP: listeners on 0.0.0.0 or :: bind to it, and with --xds it is the node id's IP and INSTANCE_IPS")
    .option('--port-map <from:to,...>', 'gateway service port -> listener port, e.g. 80:8080,443:8443')
    .option('--meta <key=value>', 'extra node metadata, e.g. ROUTER_MODE=sni-dnat, DNS_CAPTURE=true (a DNS server on <ip>:15053), DNS_AUTO_ALLOCATE=true (repeatable)', collect, [])
    .option('--ca-address <host:port>', "get the workload certificate (SDS 'default') from this CA service and renew it, as istio-agent does")
    .option('--ca-root <file>', 'PEM roots that verify the CA service (the mesh root-cert.pem)')
    .option('--spiffe <id>', 'the identity to ask for (default spiffe://cluster.local/ns/<namespace>/sa/default)')
    .option('--bootstrap-token <token>', 'token for the first certificate (isthmus ca token)')
    .option('--bootstrap-token-file <file>', 'read the token for the first certificate from this file (isthmus vm join --xds writes one)')
    .option('--cert-ttl <duration>', 'lifetime to ask for (the CA default when left out)')
    .option('--admin-port <port>', 'admin port with --xds (default: any free port)', '0')
    .option('--trace-entries <n>', 'completed requests/connections kept for isthmus trace (GET /isthmus/trace); 0 turns it off', '2000')
    .option('--admin-allow-non-loopback', 'let the admin interface listen on a non-loopback address (refused by default: it can stop the proxy)')
    .option('--admin-address-path <file>', 'write the admin address (ip:port) to this file once listening, as Envoy does')
    .option('--concurrency <n>', 'worker processes sharing the listeners (Envoy\'s --concurrency); auto = one per CPU. With more than 1, the primary runs xDS and admin and hands config to the workers', '1')
    .option('--mode <mode>', "'serve', or 'validate' to check the config and exit", 'serve')
    .action(action(async (opts: {
      configPath?: string; logLevel: string; drainTimeS: string; mode: string; adminAddressPath?: string; xds?: string; nodeId?: string;
      nodeCluster?: string; proxyType: string; namespace?: string; label: string[]; portMap?: string; meta: string[]; adminPort: string; traceEntries: string;
      caAddress?: string; caRoot?: string; spiffe?: string; bootstrapToken?: string; bootstrapTokenFile?: string; certTtl?: string; ip?: string;
      concurrency: string;
      xdsTls?: boolean; xdsRootCa?: string; xdsServerName: string;
      adminAllowNonLoopback?: boolean;
    }) => {
      if (!opts.configPath && !opts.xds) {
        throw new IsthmusError('ERR_PROXY_CONFIG', 'no config file given', { hint: 'pass -c FILE (an Envoy v3 bootstrap in YAML or JSON), or --xds HOST:PORT' });
      }
      if (!LEVELS.includes(opts.logLevel)) {
        throw new IsthmusError('ERR_PROXY_CONFIG', `unknown log level "${opts.logLevel}"`, { hint: `use one of ${LEVELS.join(', ')}` });
      }
      if (opts.ip !== undefined && isIP(opts.ip) === 0) {
        throw new IsthmusError('ERR_PROXY_CONFIG', `--ip "${opts.ip}" is not an IP address`, { hint: 'give the IP this proxy owns, e.g. --ip 127.0.10.2 (any 127.x.y.z works on Linux)' });
      }
      const concurrency = parseConcurrency(opts.concurrency);
      const role = concurrency === 1 || opts.mode === 'validate' ? 'single' : cluster.isPrimary ? 'primary' : 'worker';
      const level = opts.logLevel === 'critical' ? 'fatal' : opts.logLevel === 'off' ? 'silent' : opts.logLevel;
      const rootLogger = pino({ name: 'isthmus-proxy', level }, pino.destination(2));
      const logger = role === 'worker' ? rootLogger.child({ worker: Number(process.env[WORKER_INDEX_ENV]) }) : rootLogger;
      if (opts.bootstrapTokenFile) opts.bootstrapToken ??= (await readFile(opts.bootstrapTokenFile, 'utf8')).trim();
      if (opts.xdsTls && !opts.caAddress && !opts.bootstrapToken) {
        logger.warn('--xds-tls without --ca-address or --bootstrap-token: this proxy has no credentials, so the control plane will refuse it');
      }
      const loaded = opts.configPath ? await loadBootstrapFile(opts.configPath) : xdsLoaded(opts);
      const traceEntries = Number(opts.traceEntries);
      if (!Number.isInteger(traceEntries) || traceEntries < 0) {
        throw new IsthmusError('ERR_PROXY_CONFIG', `--trace-entries "${opts.traceEntries}" is not a whole number`, { hint: 'e.g. --trace-entries 2000, or 0 to record nothing' });
      }
      const drainTimeMs = Number(opts.drainTimeS) * 1000;
      const server = await ProxyServer.create(loaded, { logger, drainTimeMs, traceEntries, role, ...(opts.ip ? { instanceIp: opts.ip } : {}), allowNonLoopbackAdmin: opts.adminAllowNonLoopback === true });
      if (role === 'worker') {
        // Config from the primary; this process only serves traffic.
        await runWorker(server, logger);
        logger.flush();
        return;
      }
      if (opts.mode === 'validate') {
        await server.stop(0);
        process.stdout.write(`configuration '${opts.configPath}' OK\n`);
        return;
      }
      let certificates: WorkloadCertificateManager | undefined;
      if (opts.caAddress) {
        if (!opts.caRoot) throw new IsthmusError('ERR_PROXY_CONFIG', '--ca-address needs --ca-root', { hint: "pass the mesh's root-cert.pem with --ca-root" });
        certificates = new WorkloadCertificateManager({
          caAddress: opts.caAddress,
          rootsPem: await readFile(opts.caRoot, 'utf8'),
          spiffeId: opts.spiffe ?? `spiffe://cluster.local/ns/${opts.namespace ?? 'default'}/sa/default`,
          ...(opts.bootstrapToken ? { token: opts.bootstrapToken } : {}),
          ...(opts.certTtl ? { ttlMs: parseDuration(opts.certTtl, '--cert-ttl') } : {}),
          secrets: server.secrets,
          logger,
        });
        await certificates.start();
      }
      const primary = role === 'primary'
        ? new ProxyPrimary({ concurrency, logger, drainTimeMs, secrets: server.secrets, traceEntries, onListenersApplied: (l) => server.dynamic.onListenersApplied?.(l as never) })
        : undefined;
      await server.start(primary?.adminHooks());
      try {
        await primary?.start();
      } catch (err) {
        certificates?.stop();
        await primary?.stop();
        await server.stop(0);
        throw err;
      }
      const adminHost = loaded.bootstrap.admin?.address?.socket_address.address ?? '127.0.0.1';
      const adminAddress = server.adminPort === undefined ? undefined : `${adminHost === '0.0.0.0' || adminHost === '::' ? '127.0.0.1' : adminHost}:${server.adminPort}`;
      if (loaded.bootstrap.dynamic_resources?.ads_config) {
        // The admin listens before ADS connects, so the control plane can tell clients (isthmus trace) where it is.
        const node = loaded.bootstrap.node;
        if (adminAddress && node) node.metadata = { ...node.metadata, ISTHMUS_ADMIN_ADDRESS: adminAddress };
        server.connectXds(envoyXdsCodec(), primary?.xds);
      }
      if (opts.adminAddressPath && server.adminPort !== undefined) {
        await writeFileAtomic(opts.adminAddressPath, `${adminHost}:${server.adminPort}`);
      }
      await new Promise<void>((resolve) => {
        const shutdown = (signal: string) => {
          logger.info({ signal }, 'draining');
          certificates?.stop();
          // Workers drain first; the primary's admin answers (DRAINING) until they are done.
          void (primary ? primary.stop() : Promise.resolve()).then(() => server.stop()).then(resolve);
        };
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        process.once('SIGINT', () => shutdown('SIGINT'));
      });
      logger.flush();
    }));
}
