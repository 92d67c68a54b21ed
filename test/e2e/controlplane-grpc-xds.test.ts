import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import grpcXds from '@grpc/grpc-js-xds';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IstioResource } from '../../src/api/index.js';
import { ControlPlane } from '../../src/controlplane/index.js';

/**
 * Issue 4's acceptance test: a proxyless gRPC client (@grpc/grpc-js + @grpc/grpc-js-xds) bootstrapped to
 * the Isthmus control plane dials xds:///greeter.example.svc:7070 and reaches real gRPC servers through
 * the listener, route, clusters and endpoints translated from a ServiceEntry, a DestinationRule and a
 * VirtualService; re-applying the VirtualService with other weights moves its calls on the same channel.
 */
const PROTO = join(import.meta.dirname, '..', 'fixtures', 'grpc-xds', 'greeter.proto');
const HOST = 'greeter.example.svc';
const SERVICE_PORT = 7070;
const TARGET = `xds:///${HOST}:${SERVICE_PORT}`;
// The id Istio's proxyless bootstrap gives a pod; GENERATOR=grpc is what makes it proxyless.
const NODE_ID = 'sidecar~127.0.0.1~greeter-client-7d4f8b.default~default.svc.cluster.local';
const NODE_NAME = 'greeter-client-7d4f8b.default';

interface HelloRequest { name: string }
interface HelloReply { message: string; server: string }
interface GreeterClient extends grpc.Client {
  SayHello(request: HelloRequest, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, reply?: HelloReply) => void): grpc.ClientUnaryCall;
}
interface StatusRow { name: string; nodeId: string; types: Record<string, { state: string }> }

const Greeter = ((grpc.loadPackageDefinition(loadSync(PROTO, { keepCase: true, defaults: true })).isthmus as grpc.GrpcObject).test as grpc.GrpcObject).Greeter as grpc.ServiceClientConstructor;

async function startGreeter(name: string): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(Greeter.service, {
    SayHello: (call: grpc.ServerUnaryCall<HelloRequest, HelloReply>, callback: grpc.sendUnaryData<HelloReply>) => callback(null, { message: `hello ${call.request.name}`, server: name }),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { server, port };
}

function serviceEntry(v1Port: number, v2Port: number): IstioResource {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'ServiceEntry',
    metadata: { name: 'greeter', namespace: 'default' },
    spec: {
      hosts: [HOST],
      location: 'MESH_INTERNAL',
      ports: [{ number: SERVICE_PORT, name: 'grpc', protocol: 'GRPC' }],
      resolution: 'STATIC',
      endpoints: [
        { address: '127.0.0.1', ports: { grpc: v1Port }, labels: { version: 'v1' } },
        { address: '127.0.0.1', ports: { grpc: v2Port }, labels: { version: 'v2' } },
      ],
    },
  } as IstioResource;
}

function destinationRule(v2Tls?: 'ISTIO_MUTUAL'): IstioResource {
  const v2 = { name: 'v2', labels: { version: 'v2' }, ...(v2Tls ? { trafficPolicy: { tls: { mode: v2Tls } } } : {}) };
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'DestinationRule',
    metadata: { name: 'greeter', namespace: 'default' },
    spec: { host: HOST, subsets: [{ name: 'v1', labels: { version: 'v1' } }, v2] },
  } as IstioResource;
}

function virtualService(v1: number, v2: number): IstioResource {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'VirtualService',
    metadata: { name: 'greeter', namespace: 'default' },
    spec: {
      hosts: [HOST],
      gateways: ['mesh'],
      http: [{ route: [{ destination: { host: HOST, subset: 'v1' }, weight: v1 }, { destination: { host: HOST, subset: 'v2' }, weight: v2 }] }],
    },
  } as IstioResource;
}

describe('control plane -> proxyless gRPC client (@grpc/grpc-js-xds)', () => {
  let stateDir: string;
  let cp: ControlPlane;
  let backends: Array<{ server: grpc.Server; port: number }>;
  let client: GreeterClient;

  async function apply(resources: IstioResource[]): Promise<void> {
    const outcome = await cp.store.apply(resources, { source: 'test' });
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
  }

  function sayHello(name: string): Promise<HelloReply> {
    return new Promise((resolve, reject) => {
      client.SayHello({ name }, { deadline: Date.now() + 10_000 }, (err, reply) => (err ? reject(err) : resolve(reply as HelloReply)));
    });
  }

  /** n concurrent calls; how many each backend answered. */
  async function distribution(n: number): Promise<Record<string, number>> {
    const replies = await Promise.all(Array.from({ length: n }, (_, i) => sayHello(`call-${i}`)));
    const counts: Record<string, number> = {};
    for (const r of replies) counts[r.server] = (counts[r.server] ?? 0) + 1;
    return counts;
  }

  /** Calls until one reaches `server` (failed calls count as not there yet); returns how long that took. Fails after 10 s. */
  async function untilReached(server: string): Promise<number> {
    const started = performance.now();
    while (performance.now() - started < 10_000) {
      const reply = await sayHello('poll').catch(() => undefined);
      if (reply?.server === server) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no call reached ${server} within 10 s`);
  }

  beforeAll(async () => {
    grpcXds.register();
    stateDir = mkdtempSync(join(tmpdir(), 'isthmus-cp-grpc-xds-'));
    cp = new ControlPlane({ stateDir, xdsAddress: '127.0.0.1:0', managementAddress: '127.0.0.1:0' });
    await cp.start();
    const v1 = await startGreeter('greeter-v1');
    const v2 = await startGreeter('greeter-v2');
    backends = [v1, v2];
    await apply([serviceEntry(v1.port, v2.port), destinationRule(), virtualService(100, 0)]);

    const bootstrap = {
      xds_servers: [{ server_uri: `127.0.0.1:${cp.ports.xds}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: NODE_ID, cluster: 'grpc-clients', locality: { region: 'local' }, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
    };
    client = new Greeter(TARGET, grpc.credentials.createInsecure(), {
      // grpc-js-xds' per-channel bootstrap (GRPC_XDS_BOOTSTRAP_CONFIG is read once per process).
      'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
    }) as unknown as GreeterClient;
  });

  afterAll(async () => {
    client?.close();
    for (const b of backends ?? []) b.server.forceShutdown();
    await cp?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('resolves xds:///greeter.example.svc:7070 from the ServiceEntry and VirtualService, and follows weight changes without a restart', async () => {
    // 100/0: every call reaches v1.
    const started = performance.now();
    expect(await sayHello('world')).toEqual({ message: 'hello world', server: 'greeter-v1' });
    console.log(`proxyless gRPC: first call through the control plane took ${(performance.now() - started).toFixed(0)} ms`);
    expect(await distribution(50)).toEqual({ 'greeter-v1': 50 });

    // The client is a proxy of the mesh: proxy-status shows it, every type ACKed.
    let row: StatusRow | undefined;
    for (let i = 0; i < 100; i++) {
      row = (cp.proxyStatus() as StatusRow[]).find((r) => r.nodeId === NODE_ID);
      if (row && ['CDS', 'LDS', 'EDS', 'RDS'].every((t) => row?.types[t]?.state === 'SYNCED')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(row?.name).toBe(NODE_NAME);
    expect(Object.fromEntries(['CDS', 'LDS', 'EDS', 'RDS'].map((t) => [t, row?.types[t]?.state]))).toEqual({ CDS: 'SYNCED', LDS: 'SYNCED', EDS: 'SYNCED', RDS: 'SYNCED' });

    // What it was given is the proxyless form: one API listener named as the target, subset clusters.
    const listeners = cp.proxyConfig(NODE_NAME, 'listeners') as { resources: Array<{ name: string; api_listener?: unknown }> };
    expect(listeners.resources.map((l) => l.name)).toEqual([`${HOST}:${SERVICE_PORT}`]);
    expect(listeners.resources[0]?.api_listener).toBeDefined();
    const clusters = cp.proxyConfig(NODE_NAME, 'clusters') as { resources: Array<{ name: string }> };
    expect(clusters.resources.map((c) => c.name).sort()).toEqual([`outbound|${SERVICE_PORT}||${HOST}`, `outbound|${SERVICE_PORT}|v1|${HOST}`, `outbound|${SERVICE_PORT}|v2|${HOST}`].sort());

    // 0/100 on the same channel: under 100/0 no call can reach v2, so the first that does shows the push.
    await apply([virtualService(0, 100)]);
    const shift = await untilReached('greeter-v2');
    console.log(`proxyless gRPC: weights 100/0 -> 0/100 reached the client's calls in ${shift.toFixed(0)} ms`);
    expect(await distribution(50)).toEqual({ 'greeter-v2': 50 });

    // 50/50: calls split between both subsets (binomial n=200, p=0.5: 70..130 is over 4 standard deviations).
    await apply([virtualService(50, 50)]);
    const split = await untilReached('greeter-v1');
    console.log(`proxyless gRPC: weights 0/100 -> 50/50 reached the client's calls in ${split.toFixed(0)} ms`);
    const counts = await distribution(200);
    console.log(`proxyless gRPC: 50/50 over 200 calls -> ${JSON.stringify(counts)}`);
    expect(Object.keys(counts).sort()).toEqual(['greeter-v1', 'greeter-v2']);
    expect(counts['greeter-v1']).toBeGreaterThanOrEqual(70);
    expect(counts['greeter-v1']).toBeLessThanOrEqual(130);
  });

  it('fails calls to a subset whose DestinationRule asks for mTLS rather than send them in plaintext', async () => {
    // Proxyless mTLS (gRPC certificate providers) is not generated: the v2 cluster is left out.
    await apply([destinationRule('ISTIO_MUTUAL'), virtualService(0, 100)]);
    let failure: grpc.ServiceError | undefined;
    const started = performance.now();
    while (!failure && performance.now() - started < 10_000) {
      failure = await sayHello('tls?').then(() => undefined, (err: grpc.ServiceError) => err);
    }
    expect(failure?.code).toBe(grpc.status.UNAVAILABLE);
    console.log(`proxyless gRPC: calls to the mTLS subset fail with: ${failure?.details}`);
    // The client ACKed that config (nothing it could not parse), and v1 is still reachable.
    const row = (cp.proxyStatus() as StatusRow[]).find((r) => r.nodeId === NODE_ID);
    expect(['CDS', 'LDS', 'EDS', 'RDS'].map((t) => row?.types[t]?.state)).not.toContain('NACKED');
    await apply([virtualService(100, 0)]);
    await untilReached('greeter-v1');
    expect(await distribution(20)).toEqual({ 'greeter-v1': 20 });
  });
});
