/**
 * A mesh's identity on this machine: its loopback /24 (127.0.N.0/24, picked from the context name and
 * checked against the other installed meshes and against addresses in use) and the host address of
 * each component, kept stable across installs so that a process keeps its address when it restarts.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { IsthmusError, writeFileAtomic } from '../common/index.js';
import { meshFiles, meshesDir } from './layout.js';

export interface MeshRecord {
  readonly context: string;
  /** N of 127.0.N.0/24. */
  readonly subnet: number;
  /** component key ("controlplane/1-17", "gateway/istio-ingress/istio-ingressgateway") -> host (1..254). */
  readonly hosts: Readonly<Record<string, number>>;
}

const FIRST_SUBNET = 100;
const SUBNETS = 150;
/** Control planes take .1-.9 (a second revision gets .2), gateways .10 and up. */
const CONTROL_PLANE_HOSTS = [1, 9] as const;
const GATEWAY_HOSTS = [10, 254] as const;

export function readMeshRecord(dir: string): MeshRecord | undefined {
  const file = meshFiles(dir).mesh;
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as MeshRecord;
}

export async function writeMeshRecord(dir: string, record: MeshRecord): Promise<void> {
  await writeFileAtomic(meshFiles(dir).mesh, `${JSON.stringify(record, null, 2)}\n`);
}

/** Subnets other installed meshes use. */
function usedSubnets(exceptDir: string): Map<number, string> {
  const used = new Map<number, string>();
  const root = meshesDir();
  if (!existsSync(root)) return used;
  for (const name of readdirSync(root)) {
    const dir = join(root, name);
    if (dir === exceptDir) continue;
    try {
      const r = readMeshRecord(dir);
      if (r) used.set(r.subnet, r.context);
    } catch {
      // an unreadable record does not reserve anything
    }
  }
  return used;
}

async function addressFree(host: string, port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** The mesh's record, creating it (with a subnet) the first time. */
export async function ensureMeshRecord(dir: string, context: string): Promise<MeshRecord> {
  const existing = readMeshRecord(dir);
  if (existing) return existing;
  const used = usedSubnets(dir);
  const start = createHash('sha256').update(context).digest().readUInt32BE(0) % SUBNETS;
  for (let i = 0; i < SUBNETS; i++) {
    const subnet = FIRST_SUBNET + ((start + i) % SUBNETS);
    if (used.has(subnet)) continue;
    // Something else (an example, another tool) may already listen there.
    if (!(await addressFree(`127.0.${subnet}.1`, 15014))) continue;
    const record: MeshRecord = { context, subnet, hosts: {} };
    await writeMeshRecord(dir, record);
    return record;
  }
  throw new IsthmusError('ERR_NO_SUBNET', 'no free loopback /24 left for another mesh', { hint: 'uninstall a mesh (isthmus --context X uninstall --purge)' });
}

export function controlPlaneKey(revision: string): string {
  return `controlplane/${revision || 'default'}`;
}

export function gatewayKey(namespace: string, name: string): string {
  return `gateway/${namespace}/${name}`;
}

/** Gives every key a host address (kept when already given); returns the updated record. */
export function assignHosts(record: MeshRecord, keys: readonly string[]): MeshRecord {
  const hosts: Record<string, number> = { ...record.hosts };
  const taken = new Set(Object.values(hosts));
  for (const key of keys) {
    if (hosts[key] !== undefined) continue;
    const [from, to] = key.startsWith('controlplane/') ? CONTROL_PLANE_HOSTS : GATEWAY_HOSTS;
    let host = from;
    while (taken.has(host) && host <= to) host++;
    if (host > to) throw new IsthmusError('ERR_NO_ADDRESS', `no free address left in 127.0.${record.subnet}.0/24 for ${key}`, { hint: 'uninstall components you no longer need' });
    hosts[key] = host;
    taken.add(host);
  }
  return { ...record, hosts };
}

export function hostAddress(record: MeshRecord, key: string): string {
  const host = record.hosts[key];
  if (host === undefined) throw new Error(`no address assigned to ${key}`);
  return `127.0.${record.subnet}.${host}`;
}

/** Kubernetes-like pod names, stable per mesh and component: istio-ingressgateway-57dc66d6ff-d2r75. */
export function podName(context: string, base: string, key: string): string {
  const digest = createHash('sha256').update(`${context}\0${key}`).digest();
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const suffix = [...digest.subarray(5, 10)].map((b) => alphabet[b % alphabet.length]).join('');
  return `${base}-${digest.subarray(0, 5).toString('hex')}-${suffix}`;
}
