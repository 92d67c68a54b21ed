/**
 * `isthmus mesh export`: the resources that make a service of one mesh (the exporting side, "from")
 * reachable in another mesh (the importing side, "to") through the importer's egress gateway, mutual TLS
 * between the gateways, and the exporter's ingress gateway, as the first seed's steps 4 and 5 do by hand.
 * Pure functions: a plan in, Istio resources out, so they are testable without sockets.
 */
import { isIP } from 'node:net';
import { stringify } from 'yaml';

/** An Istio or Kubernetes object as `apply` takes it. */
export interface LinkManifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: Readonly<Record<string, unknown>>;
  readonly type?: string;
  readonly data?: Readonly<Record<string, string>>;
}

export interface GatewayWorkload {
  readonly namespace: string;
  /** The Gateway's selector: labels of the gateway proxies. */
  readonly selector: Readonly<Record<string, string>>;
  /** Its service account: the SPIFFE id of its certificate is spiffe://<trust domain>/ns/<namespace>/sa/<serviceAccount>. */
  readonly serviceAccount: string;
}

export interface ExportPlan {
  /** The exported service: a host of the exporting mesh's registry and one of its ports. */
  readonly service: { readonly hostname: string; readonly port: number };
  /** The name the importing mesh calls it by (plain HTTP on port 80 there). */
  readonly host: string;
  readonly from: { readonly trustDomain: string; readonly ingress: GatewayWorkload };
  readonly to: {
    readonly trustDomain: string;
    readonly egress: GatewayWorkload;
    /** The egress gateway's service host, the destination of sidecars' traffic (the seed's istio-egressgateway.istio-egress.svc.cluster.local). */
    readonly egressServiceHost: string;
  };
}

/** Where the importing mesh reaches the exporting mesh's ingress gateway (its TLS port). */
export interface GatewayEndpoint {
  readonly address: string;
  readonly port: number;
}

export const LINK_LABEL = 'isthmus.io/link';
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'isthmus-mesh-export' };
const NETWORKING = 'networking.istio.io/v1beta1';
/** Plain HTTP port of the exported name inside the importing mesh, as in the seed. */
export const IMPORT_PORT = 80;
/** TLS port of the exporter's ingress gateway server, as in the seed. */
export const EXPORT_TLS_PORT = 443;

/** Default labels and service accounts of Istio's installer (IstioOperator) gateways. */
export const DEFAULT_INGRESS: GatewayWorkload = { namespace: 'istio-ingress', selector: { istio: 'ingressgateway' }, serviceAccount: 'istio-ingressgateway-service-account' };
export const DEFAULT_EGRESS: GatewayWorkload = { namespace: 'istio-egress', selector: { istio: 'egressgateway' }, serviceAccount: 'istio-egressgateway-service-account' };

/** Gateway labels worth selecting on, as the seed's selectors do (app, istio, istio.io/rev). */
const SELECTOR_KEYS = ['app', 'istio', 'istio.io/rev'];

/** A Gateway selector from a running gateway's labels: the seed's keys it has, else all of them. */
export function selectorFromLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const picked = Object.fromEntries(SELECTOR_KEYS.filter((k) => labels[k] !== undefined).map((k) => [k, labels[k] as string]));
  return Object.keys(picked).length > 0 ? picked : { ...labels };
}

/** The default name in the importing mesh: the service's first DNS label + ".external" (alb.jesus2.solo.io -> alb.external). */
export function defaultImportHost(serviceHostname: string): string {
  return `${serviceHostname.split('.')[0] ?? serviceHostname}.external`;
}

/** A DNS-1123 label from a host name: lambda.external -> lambda-external. */
export function linkSlug(host: string): string {
  return host.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'link';
}

export interface LinkNames {
  readonly slug: string;
  /** credentialName on both sides (each mesh has its own Secret of that name). */
  readonly credential: string;
  readonly exportGateway: string;
  readonly exportVirtualService: string;
  readonly importServiceEntry: string;
  readonly importDestinationRule: string;
  readonly egressGateway: string;
  readonly egressDestinationRule: string;
  readonly egressVirtualService: string;
  readonly egressSubset: string;
}

export function linkNames(host: string): LinkNames {
  const slug = linkSlug(host);
  return {
    slug,
    credential: `${slug}-mtls`,
    exportGateway: `export-${slug}`,
    exportVirtualService: `export-${slug}`,
    importServiceEntry: `import-${slug}`,
    importDestinationRule: `import-${slug}`,
    egressGateway: `import-${slug}-egress`,
    egressDestinationRule: `import-${slug}-egress`,
    egressVirtualService: `import-${slug}-egress`,
    egressSubset: slug,
  };
}

export function spiffeIdOf(trustDomain: string, workload: GatewayWorkload): string {
  return `spiffe://${trustDomain}/ns/${workload.namespace}/sa/${workload.serviceAccount}`;
}

/** The identities of the two ends: the exporter's ingress gateway (server) and the importer's egress gateway (client). */
export function linkIdentities(plan: ExportPlan): { server: string; client: string } {
  return { server: spiffeIdOf(plan.from.trustDomain, plan.from.ingress), client: spiffeIdOf(plan.to.trustDomain, plan.to.egress) };
}

function meta(name: string, namespace: string, slug: string): LinkManifest['metadata'] {
  return { name, namespace, labels: { ...MANAGED_BY, [LINK_LABEL]: slug } };
}

/**
 * The exporting mesh: an HTTPS server for the name on its ingress gateway (mutual TLS with the credential,
 * accepting only the importer's egress gateway identity) and a VirtualService from the name to the service.
 */
export function exportSideResources(plan: ExportPlan): LinkManifest[] {
  const names = linkNames(plan.host);
  const ns = plan.from.ingress.namespace;
  const { client } = linkIdentities(plan);
  return [
    {
      apiVersion: NETWORKING,
      kind: 'Gateway',
      metadata: meta(names.exportGateway, ns, names.slug),
      spec: {
        selector: { ...plan.from.ingress.selector },
        servers: [{
          hosts: [plan.host],
          port: { name: 'https', number: EXPORT_TLS_PORT, protocol: 'HTTPS' },
          // Two meshes without a shared root: each side holds the other's trust bundle (cacert), not ISTIO_MUTUAL.
          tls: { mode: 'MUTUAL', credentialName: names.credential, subjectAltNames: [client] },
        }],
      },
    },
    {
      apiVersion: NETWORKING,
      kind: 'VirtualService',
      metadata: meta(names.exportVirtualService, ns, names.slug),
      spec: {
        exportTo: ['.'],
        gateways: [names.exportGateway],
        hosts: [plan.host],
        http: [{ match: [{ uri: { prefix: '/' } }], route: [{ destination: { host: plan.service.hostname, port: { number: plan.service.port } } }] }],
      },
    },
  ];
}

/** STATIC for an IP address, DNS for a host name (the seed's load balancer host name). */
export function resolutionOf(address: string): 'STATIC' | 'DNS' {
  return isIP(address) ? 'STATIC' : 'DNS';
}

/**
 * The importing mesh: the name as a plain-HTTP ServiceEntry whose endpoint is the exporter's ingress
 * gateway, originating mutual TLS (SNI the name, the server's SPIFFE id checked), and the seed's egress
 * gateway routing: sidecars -> egress gateway (subset) -> the name.
 */
export function importSideResources(plan: ExportPlan, endpoint: GatewayEndpoint): LinkManifest[] {
  const names = linkNames(plan.host);
  const ns = plan.to.egress.namespace;
  const { server } = linkIdentities(plan);
  return [
    {
      apiVersion: NETWORKING,
      kind: 'ServiceEntry',
      metadata: meta(names.importServiceEntry, ns, names.slug),
      spec: {
        hosts: [plan.host],
        ports: [{ name: 'http', number: IMPORT_PORT, protocol: 'HTTP' }],
        resolution: resolutionOf(endpoint.address),
        endpoints: [{ address: endpoint.address, ports: { http: endpoint.port } }],
      },
    },
    {
      apiVersion: NETWORKING,
      kind: 'DestinationRule',
      metadata: meta(names.importDestinationRule, ns, names.slug),
      spec: {
        host: plan.host,
        trafficPolicy: {
          portLevelSettings: [{
            port: { number: IMPORT_PORT },
            tls: { mode: 'MUTUAL', credentialName: names.credential, sni: plan.host, subjectAltNames: [server] },
          }],
        },
      },
    },
    {
      apiVersion: NETWORKING,
      kind: 'Gateway',
      metadata: meta(names.egressGateway, ns, names.slug),
      spec: {
        selector: { ...plan.to.egress.selector },
        servers: [{ port: { number: IMPORT_PORT, name: 'http', protocol: 'HTTP' }, hosts: [plan.host] }],
      },
    },
    {
      apiVersion: NETWORKING,
      kind: 'DestinationRule',
      metadata: meta(names.egressDestinationRule, ns, names.slug),
      spec: { host: plan.to.egressServiceHost, subsets: [{ name: names.egressSubset }] },
    },
    {
      apiVersion: NETWORKING,
      kind: 'VirtualService',
      metadata: meta(names.egressVirtualService, ns, names.slug),
      spec: {
        hosts: [plan.host],
        gateways: ['mesh', names.egressGateway],
        http: [
          {
            match: [{ gateways: ['mesh'], port: IMPORT_PORT }],
            route: [{ destination: { host: plan.to.egressServiceHost, subset: names.egressSubset, port: { number: IMPORT_PORT } } }],
          },
          {
            match: [{ gateways: [names.egressGateway], port: IMPORT_PORT }],
            route: [{ destination: { host: plan.host, port: { number: IMPORT_PORT } } }],
          },
        ],
      },
    },
  ];
}

/** What each gateway's credential Secret holds, in Istio's generic layout (key, cert, cacert). */
export interface CredentialPem {
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
  /** The OTHER mesh's trust bundle: whom this gateway trusts on the link. */
  readonly caPem: string;
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

export function credentialSecret(name: string, namespace: string, slug: string, pem: CredentialPem): LinkManifest {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(name, namespace, slug),
    type: 'Opaque',
    data: { key: b64(pem.privateKeyPem), cert: b64(pem.certificateChainPem), cacert: b64(pem.caPem) },
  };
}

export const REDACTED = 'REDACTED';

/** A Secret fit to print: the private key never leaves the run; certificates are public, shown when known. */
export function redactSecret(secret: LinkManifest): LinkManifest {
  const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, k === 'key' || k === 'tls.key' ? REDACTED : v]));
  return { ...secret, data };
}

/** Multi-document YAML with a comment block before the first document. */
export function manifestsYaml(comment: readonly string[], manifests: readonly LinkManifest[]): string {
  const head = comment.map((line) => `# ${line}`.trimEnd()).join('\n');
  const docs = manifests.map((m) => stringify(m, { lineWidth: 0 }).trimEnd());
  return `${head}\n${docs.map((d) => `---\n${d}`).join('\n')}\n`;
}
