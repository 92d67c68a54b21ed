// Shared helpers for the config model tests: build documents, load them, read back errors by path.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { buildSnapshot, loadResourceFiles, loadResources } from '../../src/api/index.js';
import type { ConfigError, ConfigSnapshot, IstioResource, LoadResult } from '../../src/api/index.js';

export const SEEDS = fileURLToPath(new URL('../fixtures/seeds/', import.meta.url));
export const seed = (file: string): string => join(SEEDS, file);

/** Mesh B (EKS, ingress side) and mesh A (GKE, egress side) of seed 000, one file per kubectl apply. */
export const MESH_B_FILES = ['000-6-mesh-b-serviceentry-destinationrule-alb.yaml', '000-7-mesh-b-gateway-virtualservice-lambda.yaml'].map(seed);
export const MESH_A_FILES = ['000-8-mesh-a-serviceentry-destinationrule-lambda.yaml', '000-9-mesh-a-egress-gateway-virtualservice.yaml'].map(seed);

export function resource(apiVersion: string, kind: string, name: string, namespace: string, spec: unknown): Record<string, unknown> {
  return { apiVersion, kind, metadata: { name, namespace }, spec };
}

export const net = (kind: string, spec: unknown, name = 'r', namespace = 'ns'): Record<string, unknown> =>
  resource('networking.istio.io/v1beta1', kind, name, namespace, spec);
export const sec = (kind: string, spec: unknown, name = 'r', namespace = 'ns'): Record<string, unknown> =>
  resource('security.istio.io/v1beta1', kind, name, namespace, spec);

/** Loads the objects as one multi-document YAML text. */
export function load(...docs: unknown[]): LoadResult {
  return loadResources(docs.map((d) => stringify(d)).join('---\n'), 'test.yaml');
}

/** "path: message" for every error, for exact assertions. */
export function errorLines(result: { errors: readonly ConfigError[] }): string[] {
  return result.errors.map((e) => `${e.path ?? ''}: ${e.message}`);
}

export function expectOnlyError(result: LoadResult, path: string, fragment: string): ConfigError {
  const matching = result.errors.filter((e) => e.path === path && e.message.includes(fragment));
  if (matching.length !== 1 || result.errors.length !== 1) {
    throw new Error(`expected exactly one error at ${path} containing "${fragment}", got:\n${errorLines(result).join('\n')}`);
  }
  if (result.resources.length !== 0) throw new Error('a resource with an error must be rejected');
  const found = matching[0] as ConfigError;
  // Every error says how to fix it.
  if (!found.fix) throw new Error(`error at ${path} has no fix hint: ${found.message}`);
  return found;
}

export async function loadSnapshot(files: string[], extra: unknown[] = []): Promise<{ snapshot: ConfigSnapshot; resources: IstioResource[] }> {
  const fromFiles = await loadResourceFiles(files);
  const fromExtra = extra.length > 0 ? load(...extra) : { resources: [], errors: [] };
  const errors = [...fromFiles.errors, ...fromExtra.errors];
  if (errors.length > 0) throw new Error(`fixtures must load cleanly:\n${errors.map((e) => e.message).join('\n')}`);
  const resources = [...fromFiles.resources, ...fromExtra.resources];
  return { snapshot: buildSnapshot(resources), resources };
}

const run = promisify(execFile);

export interface KeyPair {
  key: string;
  cert: string;
}

/** A self-signed key pair made with openssl, as the seed does for server.crt/client.crt. */
export async function opensslKeyPair(subject: string): Promise<KeyPair> {
  const dir = await mkdtemp(join(tmpdir(), 'isthmus-api-'));
  try {
    const key = join(dir, 'tls.key');
    const cert = join(dir, 'tls.crt');
    await run('openssl', ['req', '-x509', '-nodes', '-days', '365', '-newkey', 'rsa:2048', '-keyout', key, '-out', cert, '-subj', subject]);
    return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** What `kubectl create secret generic NAME --from-file=key=... --from-file=cert=... --from-file=cacert=...` stores. */
export function genericSecret(name: string, namespace: string, files: Record<string, string>): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace }, data: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, b64(v)])) };
}

export function tlsSecret(name: string, namespace: string, files: Record<string, string>): Record<string, unknown> {
  return { ...genericSecret(name, namespace, files), type: 'kubernetes.io/tls' };
}
