import * as grpc from '@grpc/grpc-js';
import grpcXds from '@grpc/grpc-js-xds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../../src/envoy/index.js';
import { Snapshot, SnapshotCache, XdsServer } from '../../../src/controlplane/xds/index.js';
import { sleep } from './helpers.js';

/**
 * gRPC's own xDS client (@grpc/grpc-js-xds) parses every resource with the real Envoy protos and
 * validates it as Envoy's data plane API says: if it resolves xds:///my-service through our server and
 * reaches the backend, the encoding is real Envoy v3, not something only our proxy reads.
 */
const NODE_ID = 'grpc-client-1';
const ads = { ads: {}, resource_api_version: 'V3' };

/** A unary method that needs no .proto: requests and responses are raw bytes. */
const echoService = {
  Say: {
    path: '/isthmus.test.Echo/Say',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer): Buffer => b,
    requestDeserialize: (b: Buffer): Buffer => b,
    responseSerialize: (b: Buffer): Buffer => b,
    responseDeserialize: (b: Buffer): Buffer => b,
  },
} satisfies grpc.ServiceDefinition;

interface EchoClient extends grpc.Client {
  Say(request: Buffer, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, response?: Buffer) => void): grpc.ClientUnaryCall;
}

async function startBackend(name: string): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(echoService, {
    Say: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from(`${name}: hello ${call.request.toString()}`)),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { server, port };
}

function serviceSnapshot(backendPort: number, version: string, options: { routesFromFile?: boolean } = {}): Snapshot {
  // Routes read from a file are valid Envoy, but a gRPC client only takes them over ADS: it must NACK.
  const routeSource = options.routesFromFile ? { path_config_source: { path: '/etc/isthmus/routes.yaml' } } : ads;
  return new Snapshot({
    [TYPE_URL.listener]: {
      version,
      resources: [{
        name: 'my-service',
        api_listener: {
          api_listener: {
            '@type': TYPE_URL.httpConnectionManager,
            stat_prefix: 'my-service',
            rds: { route_config_name: 'my-service-routes', config_source: routeSource },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TYPE_URL.router } }],
          },
        },
      }],
    },
    [TYPE_URL.routeConfiguration]: {
      version,
      resources: [{ name: 'my-service-routes', virtual_hosts: [{ name: 'my-service', domains: ['my-service'], routes: [{ match: { prefix: '' }, route: { cluster: 'my-cluster', timeout: '5s' } }] }] }],
    },
    [TYPE_URL.cluster]: {
      version,
      resources: [{ name: 'my-cluster', type: 'EDS', eds_cluster_config: { eds_config: ads, service_name: 'my-endpoints' }, lb_policy: 'ROUND_ROBIN', connect_timeout: '1s' }],
    },
    [TYPE_URL.clusterLoadAssignment]: {
      version,
      resources: [{
        cluster_name: 'my-endpoints',
        endpoints: [{
          locality: { region: 'local', zone: 'a' },
          load_balancing_weight: 1,
          lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: backendPort } } }, health_status: 'HEALTHY' }],
        }],
      }],
    },
  });
}

describe('a real @grpc/grpc-js-xds client', () => {
  let cache: SnapshotCache;
  let xds: XdsServer;
  let xdsPort: number;
  let backends: Array<{ server: grpc.Server; port: number }>;
  const connected: string[] = [];

  beforeAll(async () => {
    grpcXds.register();
    backends = [await startBackend('backend-1'), await startBackend('backend-2')];
    cache = new SnapshotCache({ debounceMs: 50 });
    xds = new XdsServer({
      cache,
      onNodeConnected: (node) => {
        connected.push(node.id ?? '');
        cache.setSnapshot(node.id as string, serviceSnapshot((backends[0] as { port: number }).port, 'v1'));
      },
    });
    xdsPort = await xds.listen('127.0.0.1:0');
  });

  afterAll(async () => {
    await xds.close();
    cache.close();
    for (const backend of backends) backend.server.forceShutdown();
  });

  function xdsClient(nodeId: string): EchoClient {
    const bootstrap = {
      xds_servers: [{ server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: nodeId, cluster: 'grpc-clients', locality: { region: 'local' } },
    };
    const Client = grpc.makeGenericClientConstructor(echoService, 'Echo');
    return new Client('xds:///my-service', grpc.credentials.createInsecure(), {
      // grpc-js-xds' per-channel bootstrap (the env var GRPC_XDS_BOOTSTRAP_CONFIG is read once per process).
      'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
    }) as unknown as EchoClient;
  }

  function say(client: EchoClient, text: string): Promise<string> {
    return new Promise((resolve, reject) => {
      client.Say(Buffer.from(text), { deadline: Date.now() + 10_000 }, (err, response) => (err ? reject(err) : resolve((response as Buffer).toString())));
    });
  }

  it('resolves xds:///my-service through LDS (api_listener) -> RDS -> CDS -> EDS and calls the backend', async () => {
    const client = xdsClient(NODE_ID);
    const started = performance.now();
    expect(await say(client, 'world')).toBe('backend-1: hello world');
    console.log(`grpc-js-xds: first call through xDS took ${(performance.now() - started).toFixed(0)} ms`);
    expect(connected).toContain(NODE_ID);

    // The client ACKs every type: the server shows it SYNCED.
    let status = xds.proxyStatus().find((p) => p.nodeId === NODE_ID);
    for (let i = 0; i < 50 && status && status.types.EDS.state !== 'SYNCED'; i++) {
      await sleep(20);
      status = xds.proxyStatus().find((p) => p.nodeId === NODE_ID);
    }
    expect(status && Object.fromEntries(Object.entries(status.types).map(([k, v]) => [k, v.state]))).toEqual({
      CDS: 'SYNCED', EDS: 'SYNCED', LDS: 'SYNCED', RDS: 'SYNCED', SDS: 'NOT SENT',
    });
    expect(status?.cluster).toBe('grpc-clients');

    // Moving the endpoint moves the traffic, without a new channel.
    cache.setSnapshot(NODE_ID, serviceSnapshot((backends[1] as { port: number }).port, 'v2'));
    let answer = '';
    for (let i = 0; i < 100 && !answer.startsWith('backend-2'); i++) {
      answer = await say(client, 'again');
      if (!answer.startsWith('backend-2')) await sleep(20);
    }
    expect(answer).toBe('backend-2: hello again');
    client.close();
  });

  it('reports the NACK of a listener that gRPC rejects, and recovers with the next snapshot', async () => {
    const nodeId = 'grpc-client-nack';
    const client = xdsClient(nodeId);
    expect(await say(client, 'x')).toBe('backend-1: hello x');
    cache.setSnapshot(nodeId, serviceSnapshot((backends[0] as { port: number }).port, 'bad', { routesFromFile: true }));
    let lds = xds.proxyStatus().find((p) => p.nodeId === nodeId)?.types.LDS;
    for (let i = 0; i < 100 && lds?.state !== 'NACKED'; i++) {
      await sleep(20);
      lds = xds.proxyStatus().find((p) => p.nodeId === nodeId)?.types.LDS;
    }
    expect(lds?.state).toBe('NACKED');
    expect(lds?.lastNack?.version).toBe('bad');
    console.log(`grpc-js-xds NACK message: ${lds?.lastNack?.message}`);
    expect(lds?.lastNack?.message).toContain('config_source');
    // It keeps working on the last good config, and takes the next good one.
    expect(await say(client, 'y')).toBe('backend-1: hello y');
    cache.setSnapshot(nodeId, serviceSnapshot((backends[0] as { port: number }).port, 'good'));
    for (let i = 0; i < 100 && lds?.state !== 'SYNCED'; i++) {
      await sleep(20);
      lds = xds.proxyStatus().find((p) => p.nodeId === nodeId)?.types.LDS;
    }
    expect(lds?.state).toBe('SYNCED');
    expect(lds?.acked?.version).toBe('good');
    client.close();
  });
});
