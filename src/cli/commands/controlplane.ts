import type { Command } from 'commander';
import { pino } from 'pino';
import { ControlPlane } from '../../controlplane/index.js';
import { action } from '../action.js';

export function registerControlPlaneCommand(program: Command): void {
  program
    .command('controlplane')
    .description('run a mesh control plane (the istiod role): config store, validation, Istio -> Envoy translation, ADS, CA')
    .requiredOption('--state-dir <dir>', 'where config written through the control plane, and the CA, persist')
    .option('--config-dir <dir>', 'a directory of Istio YAML files, watched for changes')
    .option('--trust-domain <domain>', 'SPIFFE trust domain of a new mesh CA', 'cluster.local')
    .option('--vm-trust-domain <domain>', 'SPIFFE trust domain of the VM intermediate (identities for VMs); the mesh trust domain when left out')
    .option('--xds-address <host:port>', "plaintext ADS (gRPC) address (Istio's 15010); 'off' turns it off", '127.0.0.1:15010')
    .option('--xds-tls-address <host:port>', "ADS over TLS (Istio's 15012): a server certificate from the mesh CA (istiod.istio-system.svc); proxies authenticate with their workload certificate or a bootstrap token")
    .option('--xds-port <port>', 'ADS port on 127.0.0.1 (shorthand for --xds-address)')
    .option('--management-address <host:port>', 'management API address (isthmus apply/get/proxy-status talk to it)', '127.0.0.1:15014')
    .option('--ca-address <host:port>', 'CSR-signing service (Istio CA API) address; off when not given')
    .option('--token <token>', 'require this bearer token on the management API')
    .option('--name <name>', 'the name proxy-status shows for this control plane (default istiod-<rev>, or istiod)')
    .option('-r, --revision <rev>', "Istio revision (e.g. 1-17): serves only proxies labelled istio.io/rev=<rev>; several revisions may share one --config-dir (each with its own --state-dir)")
    .option('--default-revision', 'also serve proxies without an istio.io/rev label (implied without -r)')
    .option('--filter-gateway-cluster-config', "Istio's PILOT_FILTER_GATEWAY_CLUSTER_CONFIG: gateways get only the clusters their routes use")
    .option('--verify-certificate-at-client', "Istio's VERIFY_CERTIFICATE_AT_CLIENT: TLS origination without caCertificates verifies against the system roots")
    .option('--extra-trusted-roots <file>', 'PEM roots trusted besides the system bundle by TLS origination without caCertificates (with --verify-certificate-at-client); repeatable', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--federate <td=file>', "trust another mesh's trust domain: its identities verify against the roots in FILE only (e.g. --federate mesh-a.local=mesh-a-root.pem); repeatable", (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--skip-validate-trust-domain', "Istio's PILOT_SKIP_VALIDATE_TRUST_DOMAIN: sidecars accept mTLS peers of any trust domain whose certificate chains to the mesh root")
    .option('-l, --log-level <level>', 'log level', 'info')
    .action(action(async (opts: {
      stateDir: string; configDir?: string; trustDomain: string; vmTrustDomain?: string; xdsAddress: string; xdsTlsAddress?: string; xdsPort?: string; managementAddress: string; caAddress?: string;
      token?: string; name?: string; revision?: string; defaultRevision?: boolean; extraTrustedRoots: string[]; federate: string[]; filterGatewayClusterConfig?: boolean; verifyCertificateAtClient?: boolean; skipValidateTrustDomain?: boolean; logLevel: string;
    }, cmd: Command) => {
      opts.token ??= cmd.optsWithGlobals<{ token?: string }>().token; // also a global flag
      const logger = pino({ name: 'isthmus-controlplane', level: opts.logLevel }, pino.destination(2));
      const cp = new ControlPlane({
        stateDir: opts.stateDir,
        ...(opts.configDir ? { configDir: opts.configDir } : {}),
        trustDomain: opts.trustDomain,
        ...(opts.vmTrustDomain ? { vmTrustDomain: opts.vmTrustDomain } : {}),
        xdsAddress: opts.xdsPort ? `127.0.0.1:${opts.xdsPort}` : opts.xdsAddress,
        ...(opts.xdsTlsAddress ? { xdsTlsAddress: opts.xdsTlsAddress } : {}),
        managementAddress: opts.managementAddress,
        ...(opts.caAddress ? { caAddress: opts.caAddress } : {}),
        ...(opts.token ? { managementToken: opts.token } : {}),
        ...(opts.name ? { name: opts.name } : {}),
        ...(opts.revision ? { revision: opts.revision } : {}),
        ...(opts.defaultRevision ? { defaultRevision: true } : {}),
        ...(opts.extraTrustedRoots.length > 0 ? { extraTrustedRootsFiles: opts.extraTrustedRoots } : {}),
        ...(opts.federate.length > 0 ? { federate: opts.federate } : {}),
        translate: {
          filterGatewayClusterConfig: opts.filterGatewayClusterConfig === true,
          verifyCertificateAtClient: opts.verifyCertificateAtClient === true,
          skipValidateTrustDomain: opts.skipValidateTrustDomain === true,
        },
        logger,
      });
      await cp.start();
      const ports = cp.ports;
      const host = (address: string | undefined) => (address ? address.slice(0, address.lastIndexOf(':')) || '127.0.0.1' : '127.0.0.1');
      const xdsHost = host(opts.xdsPort ? undefined : opts.xdsAddress);
      const serves = cp.revision ? `revision ${cp.revision}${cp.isDefaultRevision ? ', default' : ''}` : 'the default revision';
      const plaintext = cp.plaintextXds ? `${xdsHost}:${ports.xds}` : 'off';
      const tls = ports.xdsTls ? `, xDS TLS ${host(opts.xdsTlsAddress)}:${ports.xdsTls}` : '';
      process.stderr.write(`control plane ${cp.name} (${serves}) ready: xDS ${plaintext}, management ${cp.management.url}${tls}${ports.ca ? `, CA ${host(opts.caAddress)}:${ports.ca}` : ''} (Ctrl-C to stop)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void cp.stop().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    }));
}
