/**
 * `isthmus vm join`: what the second seed does by hand for a VM (a VM certificate from the VM
 * intermediate, SNI names copied from the east-west gateway, an Envoy config typed per service), in one
 * command against a control plane: certificates and an Envoy v3 bootstrap in a directory, or with --xds a
 * bootstrap that keeps config and certificate fresh from the control plane.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { IsthmusError, formatTable, parseDuration, writeFileAtomic } from '../../common/index.js';
import {
  VM_DEFAULT_LISTEN, VM_METADATA, buildVmResources, formatVmTranscode, parsePortMap, parseVmHostPort, parseVmTranscode, vmBootstrap,
} from '../../controlplane/index.js';
import type { HostPort, ManagementClient, VmJoinResources, VmTranscode } from '../../controlplane/index.js';
import { action, collect, outputFormat } from '../action.js';
import { connect } from './contexts.js';

interface JoinOptions {
  namespace: string;
  serviceAccount?: string;
  out?: string;
  eastWestGateway?: string;
  listen: string;
  adminPort: string;
  service: string[];
  includeSystem?: boolean;
  certDir?: string;
  certTtl?: string;
  transcode: string[];
  dryRun?: boolean;
  xds?: boolean;
  xdsAddress?: string;
  caAddress?: string;
  tokenTtl: string;
  ip?: string;
  force?: boolean;
}

function hostPort(value: string, flag: string): HostPort {
  const parsed = parseVmHostPort(value);
  if (!parsed) throw new IsthmusError('ERR_VM_FLAG', `${flag} "${value}" is not HOST:PORT`, { hint: `write e.g. ${flag} eastwest.example.com:15443` });
  return parsed;
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** A control plane address as the VM must dial it: a wildcard bind becomes the management API's host. */
function dialable(address: string, client: ManagementClient): string {
  const parsed = parseVmHostPort(address);
  if (!parsed || !WILDCARD.has(parsed.host)) return address;
  return `${new URL(client.server).hostname}:${parsed.port}`;
}

interface StatusRow { name: string; nodeId: string; ip?: string; portMap?: string }

/** The seed's istio-eastwestgateway: a connected router proxy; its IP from the node id, 15443 through its port map. */
async function discoverGateway(client: ManagementClient): Promise<HostPort> {
  const rows = (await client.proxyStatus()) as StatusRow[];
  const gateway = rows.find((r) => r.nodeId.startsWith('router~') && r.name.startsWith('istio-eastwestgateway'));
  if (!gateway) {
    throw new IsthmusError('ERR_VM_NO_GATEWAY', 'no east-west gateway is connected to the control plane (a router proxy named istio-eastwestgateway*)', {
      hint: 'pass --east-west-gateway HOST:PORT (the address the VM reaches the gateway\'s 15443 port at), or start the gateway: isthmus proxy --xds ... --proxy-type router --node-id router~IP~istio-eastwestgateway-1.istio-system~istio-system.svc.cluster.local --label istio=eastwestgateway',
    });
  }
  return { host: gateway.ip ?? '127.0.0.1', port: parsePortMap(gateway.portMap)[15443] || 15443 };
}

function transcodes(values: readonly string[]): VmTranscode[] {
  return values.map((v) => {
    const t = parseVmTranscode(v);
    if (!t || t.grpcServices.length === 0) {
      throw new IsthmusError('ERR_VM_FLAG', `--transcode "${v}" is not SERVICE=DESCRIPTOR.pb:package.Service`, { hint: 'write e.g. --transcode fortune-teller=/etc/config/fortune.pb:build.stack.fortune.FortuneTeller' });
    }
    return { ...t, descriptor: resolve(t.descriptor) };
  });
}

function summaryTable(generated: VmJoinResources, listen: HostPort): string {
  const rows = generated.rows.map((r) => [`${r.service}.${r.namespace}`, `${r.port}/${r.protocol}`, `${r.prefix}  (Host: ${r.domains.find((d) => d === `${r.service}.${r.namespace}`) ?? r.domains[0] ?? ''})`, r.sni]);
  let text = formatTable(['SERVICE', 'PORT', `LOCAL ROUTE ON ${listen.host}:${listen.port}`, 'SNI'], rows);
  for (const s of generated.skipped) text += `skipped ${s.service}${s.port ? `:${s.port}` : ''}: ${s.reason}\n`;
  return text;
}

export function registerVmCommands(program: Command): void {
  const vm = program.command('vm').description('virtual machines outside the mesh that call mesh services through the east-west gateway (the second seed)');
  vm.command('join <name>')
    .description('issue a VM identity from the VM intermediate and write an Envoy bootstrap that reaches the mesh\'s services through the east-west gateway')
    .option('-n, --namespace <ns>', 'namespace of the VM\'s identity (and of short service names)', 'default')
    .option('--service-account <sa>', 'service account of the VM\'s identity (default: the VM name)')
    .option('--out <dir>', 'where to write envoy.yaml and certs/{cert,key,ca-cert}.pem')
    .option('--east-west-gateway <host:port>', 'where the VM reaches the east-west gateway\'s TLS port (default: the connected istio-eastwestgateway)')
    .option('--listen <host:port>', 'the VM proxy\'s HTTP listener', `${VM_DEFAULT_LISTEN.host}:${VM_DEFAULT_LISTEN.port}`)
    .option('--admin-port <port>', 'admin port of the VM proxy (on 127.0.0.1)', '15000')
    .option('--service <name>', 'only this service (name, name.namespace or hostname; repeatable)', collect, [])
    .option('--include-system', 'also route to the control plane and gateway services')
    .option('--cert-dir <dir>', 'where the certificates will be on the VM (paths in envoy.yaml; default: DIR/certs)')
    .option('--cert-ttl <duration>', 'lifetime of the VM certificate (the CA default, 24h, when left out)')
    .option('--transcode <spec>', 'SERVICE=DESCRIPTOR.pb:package.Service: REST on the VM to a gRPC service (the seed\'s grpc_json_transcoder; repeatable)', collect, [])
    .option('--dry-run', 'print the bootstrap (-o yaml|json) and write nothing')
    .option('--xds', 'keep config and certificate fresh from the control plane (ADS + the CA service) instead of a static file')
    .option('--xds-address <host:port>', 'with --xds: the control plane\'s ADS address as the VM reaches it (default: from the control plane)')
    .option('--ca-address <host:port>', 'with --xds: the CA service as the VM reaches it (default: from the control plane)')
    .option('--token-ttl <duration>', 'with --xds: how long the bootstrap token is good for', '1h')
    .option('--ip <ip>', 'the VM\'s IP in its node id (default: the --listen host, or 127.0.0.1)')
    .option('--force', 'overwrite an existing join in --out')
    .action(action(async (name: string, opts: JoinOptions, cmd: Command) => {
      if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) {
        throw new IsthmusError('ERR_VM_FLAG', `VM name "${name}" is not a DNS label`, { hint: 'use lower-case letters, digits and dashes, e.g. vm-1' });
      }
      if (!opts.out && !opts.dryRun) throw new IsthmusError('ERR_VM_FLAG', 'no --out directory', { hint: 'pass --out DIR (or --dry-run -o yaml to see the bootstrap)' });
      const format = outputFormat(cmd);
      const listen = hostPort(opts.listen, '--listen');
      const adminPort = Number(opts.adminPort);
      if (!Number.isInteger(adminPort) || adminPort < 0 || adminPort > 65535) throw new IsthmusError('ERR_VM_FLAG', `--admin-port "${opts.adminPort}" is not a port`, { hint: 'use e.g. --admin-port 15000' });
      const transcode = transcodes(opts.transcode);
      const certTtlMs = opts.certTtl ? parseDuration(opts.certTtl, '--cert-ttl') : undefined;
      const out = resolve(opts.out ?? '.');
      const certsOut = join(out, 'certs');
      const certDir = opts.certDir ? resolve(opts.certDir) : certsOut;
      if (opts.out && !opts.dryRun && !opts.force && existsSync(join(out, 'envoy.yaml'))) {
        throw new IsthmusError('ERR_VM_EXISTS', `${join(out, 'envoy.yaml')} exists: a VM was joined into ${out} before`, { hint: 'pass --force to issue a new identity and overwrite it, or another --out' });
      }

      const client = await connect(cmd);
      const roots = await client.caRoots();
      const spiffeId = `spiffe://${roots.vmTrustDomain}/ns/${opts.namespace}/sa/${opts.serviceAccount ?? name}`;
      const eastWestGateway = opts.eastWestGateway ? hostPort(opts.eastWestGateway, '--east-west-gateway') : await discoverGateway(client);
      const services = (await client.services()).items;
      const files = { certificateChain: join(certDir, 'cert.pem'), privateKey: join(certDir, 'key.pem'), trustedCa: join(certDir, 'ca-cert.pem') };
      const generated = buildVmResources({
        services,
        eastWestGateway,
        listen,
        namespace: opts.namespace,
        only: opts.service,
        includeSystem: opts.includeSystem === true,
        tls: opts.xds ? { kind: 'sds' } : { kind: 'files', ...files },
        transcode,
      });
      if (generated.errors.length > 0) {
        throw new IsthmusError('ERR_VM_SERVICES', generated.errors.join('; '), { hint: `the mesh has ${services.map((s) => s.hostname).join(', ') || 'no services'} (isthmus get serviceentries)` });
      }
      if (generated.rows.length === 0) {
        throw new IsthmusError('ERR_VM_SERVICES', 'no HTTP or gRPC service of the mesh to route to', { hint: 'register services (ServiceEntry with location MESH_INTERNAL, Kubernetes Services), or name them with --service' });
      }

      const ip = opts.ip ?? (WILDCARD.has(listen.host) ? '127.0.0.1' : listen.host);
      const nodeId = `sidecar~${ip}~${name}.${opts.namespace}~${opts.namespace}.svc.cluster.local`;
      const metadata: Record<string, string> = { NAMESPACE: opts.namespace, SERVICE_ACCOUNT: opts.serviceAccount ?? name, NAME: name, [VM_METADATA.eastWestGateway]: `${eastWestGateway.host}:${eastWestGateway.port}` };
      let xdsCommand: { xds: string; ca: string } | undefined;
      if (opts.xds) {
        const status = await client.status();
        const xds = opts.xdsAddress ?? (status.xdsAddress ? dialable(status.xdsAddress, client) : undefined);
        const ca = opts.caAddress ?? (status.caAddress ? dialable(status.caAddress, client) : undefined);
        if (!xds) throw new IsthmusError('ERR_VM_XDS', 'the control plane does not say where its ADS server listens', { hint: 'pass --xds-address HOST:PORT' });
        if (!ca) throw new IsthmusError('ERR_VM_XDS', 'the control plane runs no CA service, so a VM cannot get or renew its certificate', { hint: 'start it with `isthmus controlplane --ca-address HOST:PORT`, or pass --ca-address' });
        xdsCommand = { xds, ca };
        metadata[VM_METADATA.listen] = `${listen.host}:${listen.port}`;
        if (opts.service.length) metadata[VM_METADATA.services] = opts.service.join(',');
        if (opts.includeSystem) metadata[VM_METADATA.include] = 'true';
        if (transcode.length) metadata[VM_METADATA.transcode] = transcode.map(formatVmTranscode).join(';');
      }
      const bootstrap = vmBootstrap({
        nodeId, nodeCluster: `${name}.${opts.namespace}`, metadata, adminPort,
        ...(xdsCommand ? { xds: hostPort(xdsCommand.xds, '--xds-address') } : { resources: generated }),
      });

      if (opts.dryRun) {
        process.stdout.write(format === 'json' ? `${JSON.stringify(bootstrap, null, 2)}\n` : stringify(bootstrap));
        if (format === 'table') process.stderr.write(summaryTable(generated, listen));
        return;
      }

      const envoyYaml = join(out, 'envoy.yaml');
      const written: string[] = [];
      const tokenFile = join(out, 'bootstrap-token');
      if (xdsCommand) {
        const token = await client.issueToken({ spiffeId, authority: 'vm', ttlMs: parseDuration(opts.tokenTtl, '--token-ttl') });
        await writeFileAtomic(join(certsOut, 'ca-cert.pem'), roots.rootsPem);
        await writeFileAtomic(tokenFile, `${token.token}\n`, 0o600);
        written.push(join(certsOut, 'ca-cert.pem'), tokenFile);
      } else {
        const issued = await client.issueCertificate({ authority: 'vm', spiffeId, ...(certTtlMs ? { ttlMs: certTtlMs } : {}) });
        await writeFileAtomic(join(certsOut, 'cert.pem'), issued.certificateChainPem);
        await writeFileAtomic(join(certsOut, 'key.pem'), issued.privateKeyPem, 0o600);
        await writeFileAtomic(join(certsOut, 'ca-cert.pem'), issued.rootsPem);
        written.push(join(certsOut, 'cert.pem'), join(certsOut, 'key.pem'), join(certsOut, 'ca-cert.pem'));
      }
      const header = `# Envoy v3 bootstrap for VM ${name} (${spiffeId}), written by \`isthmus vm join\`.\n` +
        `# Runs with \`isthmus proxy -c\`${xdsCommand ? ' (and the flags printed with it)' : ' or `envoy -c`'}.\n`;
      await writeFileAtomic(envoyYaml, header + stringify(bootstrap));
      written.push(envoyYaml);

      const proxyCommand = xdsCommand
        ? `isthmus proxy -c ${envoyYaml} --ca-address ${xdsCommand.ca} --ca-root ${join(certDir, 'ca-cert.pem')} --spiffe ${spiffeId} --bootstrap-token-file ${tokenFile}${opts.certTtl ? ` --cert-ttl ${opts.certTtl}` : ''}`
        : `isthmus proxy -c ${envoyYaml}`;
      const envoyCommand = xdsCommand ? undefined : `envoy -c ${envoyYaml}`;
      const summary = {
        name, spiffeId, mode: xdsCommand ? 'xds' : 'static', eastWestGateway: `${eastWestGateway.host}:${eastWestGateway.port}`,
        listen: `${listen.host}:${listen.port}`, files: written, routes: generated.rows, skipped: generated.skipped,
        command: proxyCommand, ...(envoyCommand ? { envoyCommand } : {}),
      };
      if (format !== 'table') {
        process.stdout.write(format === 'json' ? `${JSON.stringify(summary, null, 2)}\n` : stringify(summary));
        return;
      }
      let text = `VM ${name} joined as ${spiffeId} (${xdsCommand ? `config and certificate from the control plane at ${xdsCommand.xds}` : 'static config'}), east-west gateway ${summary.eastWestGateway}\n`;
      text += written.map((f) => `  wrote ${f}\n`).join('') + '\n';
      text += summaryTable(generated, listen);
      text += `\nstart the VM proxy:\n  ${proxyCommand}\n`;
      if (envoyCommand) text += `or with Envoy (an istio-proxy build for the istio ALPNs, as the seed says):\n  ${envoyCommand}\n`;
      else text += `(a real Envoy needs istio-agent beside it for the SDS certificate 'default'; the Isthmus proxy fetches and renews it itself)\n`;
      if (!opts.certDir && !xdsCommand) text += `copy ${certsOut} to the VM at the same path, or re-run with --cert-dir for where they will be\n`;
      process.stdout.write(text);
    }));
}
