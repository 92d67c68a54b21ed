/**
 * Properties of the config loaders: the Envoy bootstrap loader (YAML/JSON text -> schema-checked
 * Bootstrap, src/envoy) and the Istio resource loader/validators (src/api). Random and mutated
 * documents give either a config or errors that name the field (path) and say what is wrong; nothing
 * else escapes (no TypeError from a walk over unexpected shapes), and a field outside the schema is
 * always an error, whatever its name (also "constructor", "__proto__", "toString").
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { EnvoyConfigError, parseBootstrapText, toSnakeCase, validateBootstrap, validateMessage } from '../../src/envoy/index.js';
import { isIsthmusError } from '../../src/common/index.js';
import { loadResources } from '../../src/api/index.js';
import { MiB, params, retainedGrowth } from './fuzz-helpers.js';

type Json = unknown;

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const RBAC = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';

/** Valid bootstraps to mutate: the VM seed's, and one with TLS, RBAC and dynamic resources. */
const SEEDS: Json[] = [
  parseYaml(readFileSync(new URL('../../examples/vm/manifests/vm-envoy.yaml', import.meta.url), 'utf8')) as Json,
  {
    node: { id: 'sidecar~10.0.0.1~app.ns~ns.svc.cluster.local', cluster: 'app', metadata: { NAMESPACE: 'ns', LABELS: { app: 'a' } } },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 15000 } } },
    static_resources: {
      listeners: [{
        name: 'inbound',
        address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
        listener_filters: [{ name: 'envoy.filters.listener.tls_inspector' }],
        filter_chains: [{
          filter_chain_match: { server_names: ['a.example.com'], transport_protocol: 'tls' },
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM,
              stat_prefix: 'inbound',
              normalize_path: true,
              route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/', headers: [{ name: 'x-v', string_match: { exact: '1' } }] }, route: { cluster: 'app', timeout: '5s' } }] }] },
              http_filters: [
                { name: 'envoy.filters.http.rbac', typed_config: { '@type': RBAC, rules: { action: 'DENY', policies: { p: { permissions: [{ url_path: { path: { prefix: '/admin' } } }], principals: [{ any: true }] } } } } },
                { name: 'envoy.filters.http.router' },
              ],
            },
          }],
        }],
      }],
      clusters: [{
        name: 'app',
        type: 'STATIC',
        connect_timeout: '1s',
        load_assignment: { cluster_name: 'app', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 8080 } } } }] }] },
      }],
    },
  },
];

it('the seeds are valid bootstraps (otherwise the mutations below prove little)', () => {
  for (const seed of SEEDS) expect(validateBootstrap(seed)).toMatchObject({ valid: true });
});

// ---------- mutation of JSON trees ----------

type Step = string | number;

/** Every path to a node of the tree (objects and lists included). */
function paths(value: Json, prefix: Step[] = []): Step[][] {
  const out: Step[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function setAt(root: Json, path: Step[], replace: (old: Json) => Json | undefined): Json {
  if (path.length === 0) return replace(root);
  const copy: Json = structuredClone(root);
  let node = copy as Record<Step, Json>;
  for (const step of path.slice(0, -1)) node = node[step] as Record<Step, Json>;
  const last = path[path.length - 1] as Step;
  const next = replace(node[last]);
  if (next === undefined) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = next;
  return copy;
}

/** Keys that a walk over plain objects can trip on, besides random ones. */
const nastyKey = fc.oneof(fc.constantFrom('constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf', 'prototype', '@type', 'typedConfig', 'name', ''), fc.string({ maxLength: 12 }));
const leaf = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.string({ maxLength: 20 }), fc.constantFrom('1s', '-1s', '1e400', 'NaN', 'type.googleapis.com/google.protobuf.Empty', HCM));
const anyJson = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(nastyKey, tie('value'), { maxKeys: 3 })),
})).value;

type Mutation = { op: 'replace'; at: number; value: Json } | { op: 'delete'; at: number } | { op: 'addKey'; at: number; key: string; value: Json } | { op: 'wrap'; at: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: anyJson }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('addKey' as const), at: fc.nat(), key: nastyKey, value: anyJson }),
  fc.record({ op: fc.constant('wrap' as const), at: fc.nat() }),
);

function applyMutation(root: Json, m: Mutation): Json {
  const all = paths(root);
  const path = all[m.at % all.length] as Step[];
  switch (m.op) {
    case 'replace': return setAt(root, path, () => m.value);
    case 'delete': return path.length === 0 ? root : setAt(root, path, () => undefined);
    case 'wrap': return setAt(root, path, (old) => [old]);
    case 'addKey': return setAt(root, path, (old) => {
      if (old === null || typeof old !== 'object' || Array.isArray(old)) return old;
      const copy = { ...(old as Record<string, Json>) };
      Object.defineProperty(copy, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
      return copy;
    });
  }
}

const mutatedSeed = fc.tuple(fc.constantFrom(...SEEDS.map((_, i) => i)), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([i, ms]) => ms.reduce((doc, m) => applyMutation(doc, m), SEEDS[i] as Json));

/** A validation outcome must be a config, or errors each with a path (or the root) and a message. */
function checkOutcome(result: ReturnType<typeof validateBootstrap>): void {
  if (result.valid) return;
  expect(result.errors.length).toBeGreaterThan(0);
  for (const e of result.errors) {
    expect(typeof e.path).toBe('string');
    expect(e.message.length).toBeGreaterThan(0);
    // Only a document that is not an object at all has its error at the root.
    if (e.path === '') expect(e.message).toMatch(/Bootstrap|only one of|one of .* is required/);
  }
}

describe('fuzz: Envoy bootstrap loader', () => {
  it('random JSON values: a bootstrap or field errors, never an exception', () => {
    fc.assert(fc.property(anyJson, (value) => checkOutcome(validateBootstrap(value))), params(2000));
  });

  it('mutated valid bootstraps: a bootstrap or field errors, never an exception', () => {
    fc.assert(fc.property(mutatedSeed, (doc) => checkOutcome(validateBootstrap(doc))), params(2000));
  });

  it('a key outside the schema is an error at its path, whatever the key (constructor, __proto__, toString...)', () => {
    fc.assert(
      fc.property(fc.nat(), nastyKey, leaf, (at, key, value) => {
        const seed = SEEDS[1] as Json;
        // Objects of the config (not maps such as metadata or policies, which take any key).
        const objects = paths(seed).filter((p) => {
          let node = seed as Record<Step, Json>;
          for (const s of p) node = node[s] as Record<Step, Json>;
          return node !== null && typeof node === 'object' && !Array.isArray(node) && !p.some((s) => s === 'metadata' || s === 'policies');
        });
        const path = objects[at % objects.length] as Step[];
        const validAtPath = validateBootstrap(seed);
        if (!validAtPath.valid) throw new Error('seed must be valid');
        const mutated = applyMutation(seed, { op: 'addKey', at: paths(seed).findIndex((p) => p.join('\u0000') === path.join('\u0000')), key, value });
        const result = validateBootstrap(mutated);
        const known = (() => {
          // The key may be a real field of that message (e.g. "name"): then any outcome is fine.
          const probe = validateBootstrap(applyMutation(seed, { op: 'addKey', at: paths(seed).findIndex((p) => p.join('\u0000') === path.join('\u0000')), key, value: '\u0000not-a-valid-anything\u0000' }));
          return probe.valid || !probe.errors.some((e) => /unsupported field/.test(e.message));
        })();
        if (known) return;
        expect(result.valid).toBe(false);
        if (!result.valid) expect(result.errors.some((e) => /unsupported field/.test(e.message) && e.path.endsWith(toSnakeCase(key)))).toBe(true);
      }),
      params(1500),
    );
  });

  it('an accepted bootstrap validates again to itself (normalization is stable)', () => {
    fc.assert(
      fc.property(mutatedSeed, (doc) => {
        const first = validateBootstrap(doc);
        if (!first.valid) return;
        const second = validateBootstrap(first.bootstrap);
        expect(second).toEqual(first);
      }),
      params(800),
    );
  });

  it('any text: a bootstrap, or an IsthmusError (syntax) or EnvoyConfigError (fields), nothing else', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 400 }),
      mutatedSeed.map((doc) => toYaml(doc)),
      mutatedSeed.map((doc) => JSON.stringify(doc)),
      // Text-level damage to a valid YAML bootstrap: cut, duplicate and insert characters.
      fc.tuple(fc.constantFrom(...SEEDS.map((s) => toYaml(s))), fc.nat(), fc.nat(40), fc.string({ unit: fc.constantFrom(':', '-', ' ', '\n', '{', '}', '[', ']', '&a', '*a', '"', "'", '!!', '#', '\t', '|', '>'), maxLength: 6 }))
        .map(([y, at, cut, insert]) => y.slice(0, at % y.length) + insert + y.slice((at % y.length) + cut)),
    );
    fc.assert(
      fc.property(text, (t) => {
        try {
          parseBootstrapText(t, 'fuzz.yaml');
        } catch (err) {
          expect(isIsthmusError(err), String(err)).toBe(true);
          if (err instanceof EnvoyConfigError) for (const e of err.errors) expect(e.message.length).toBeGreaterThan(0);
          expect((err as Error).message).toContain('fuzz.yaml');
        }
      }),
      params(600),
    );
  });

  it('resources as xDS delivers them (Listener, Cluster, RouteConfiguration): field errors or a value', () => {
    const listener = ((SEEDS[1] as { static_resources: { listeners: Json[] } }).static_resources.listeners[0]) as Json;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.constantFrom('Listener', 'Cluster', 'RouteConfiguration', 'Secret', 'ClusterLoadAssignment'), (ms, type) => {
        const doc = ms.reduce((d, m) => applyMutation(d, m), listener);
        const result = validateMessage(doc, type, 'resources[0]');
        if (!result.valid) for (const e of result.errors) expect(e.path.startsWith('resources[0]')).toBe(true);
      }),
      params(1500),
    );
  });
});

// ---------- Istio resources ----------

const ISTIO_SEEDS = [
  'test/fixtures/translate/seed000-mesh-a.yaml',
  'test/fixtures/translate/seed000-mesh-b.yaml',
  'test/fixtures/translate/features.yaml',
].map((f) => readFileSync(new URL(`../../${f}`, import.meta.url), 'utf8'));

describe('fuzz: Istio resource loader and validators', () => {
  it('the seeds load without errors', () => {
    for (const text of ISTIO_SEEDS) expect(loadResources(text, 'seed.yaml').errors).toEqual([]);
  });

  function checkLoad(text: string): void {
    const result = loadResources(text, 'fuzz.yaml');
    for (const e of [...result.errors, ...result.warnings]) {
      expect(e.source).toBe('fuzz.yaml');
      expect(e.message.length).toBeGreaterThan(0);
      // Schema and semantic problems are in a resource: they name the field, or the object itself.
      if (e.code === 'SCHEMA' || e.code === 'SEMANTIC') expect(e.resource ?? e.path).toBeTruthy();
    }
    for (const r of result.resources) expect(typeof r.metadata.name).toBe('string');
  }

  it('mutated resource documents: resources or located errors, never an exception', () => {
    const docs = ISTIO_SEEDS.flatMap((t) => t.split(/^---$/m)).map((d) => parseYaml(d) as Json).filter((d) => d !== null && typeof d === 'object');
    fc.assert(
      fc.property(fc.constantFrom(...docs), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (doc, ms, asJson) => {
        const mutated = ms.reduce<Json>((d, m) => applyMutation(d, m), doc);
        checkLoad(asJson ? JSON.stringify(mutated) : toYaml(mutated));
      }),
      params(600),
    );
  });

  it('random and damaged YAML text: never an exception', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.tuple(fc.constantFrom(...ISTIO_SEEDS), fc.nat(), fc.nat(60), fc.string({ unit: fc.constantFrom(':', '-', ' ', '\n', '{', '}', '[', '&a', '*a', '"', '!!', '---\n', '<<: *a\n', '\t'), maxLength: 6 }))
        .map(([y, at, cut, insert]) => y.slice(0, at % y.length) + insert + y.slice((at % y.length) + cut)),
    );
    fc.assert(fc.property(text, checkLoad), params(500));
  });

  it('loading keeps no memory across many documents', async () => {
    const samples = fc.sample(mutatedSeed.map((d) => toYaml(d)), { numRuns: 100, seed: 5 });
    const growth = await retainedGrowth(() => {
      for (let round = 0; round < 4; round++) {
        for (const s of samples) {
          try {
            parseBootstrapText(s, 'm.yaml');
          } catch {
            // refused: fine
          }
        }
        for (const t of ISTIO_SEEDS) loadResources(t, 'm.yaml');
      }
    });
    expect(growth).toBeLessThan(8 * MiB);
  });
});

describe('config loader regressions found by the properties', () => {
  it('"constructor", "toString" and "__proto__" are unsupported fields, not silently accepted ones', () => {
    for (const key of ['constructor', 'toString', '__proto__']) {
      const doc = JSON.parse(`{"node": {"id": "a"}, "admin": {"${key}": {"x": 1}, "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}}}`) as Json;
      const result = validateBootstrap(doc);
      expect(result.valid, key).toBe(false);
      if (!result.valid) expect(result.errors.map((e) => e.path)).toContain(`admin.${toSnakeCase(key)}`);
    }
  });

  it('"@type" naming an Object.prototype member is an unsupported type, not an internal error', () => {
    const result = validateBootstrap({ static_resources: { listeners: [{ address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, filter_chains: [{ filters: [{ name: 'x', typed_config: { '@type': 'constructor' } }] }] }] } });
    expect(result.valid).toBe(false);
    if (!result.valid) expect(result.errors.map((e) => `${e.path}: ${e.message}`)).toContain('static_resources.listeners[0].filter_chains[0].filters[0].typed_config.@type: unsupported type "constructor"');
  });

  it('"typed_config: null" on a filter is no config: the filter name gives its type, as when it is absent', () => {
    // It used to pass as an HTTP connection manager with no config at all (a second validation failed).
    const doc = { static_resources: { listeners: [{ address: { socket_address: { address: '127.0.0.1', port_value: 0 } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: null }] }] }] } };
    const result = validateBootstrap(doc);
    expect(result.valid).toBe(false);
    if (!result.valid) expect(result.errors.map((e) => e.path)).toContain('static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stat_prefix');
  });

  it('a duration object with non-numeric members is not a duration', () => {
    const cluster = (connect_timeout: unknown) => ({ static_resources: { clusters: [{ name: 'c', type: 'STATIC', connect_timeout }] } });
    for (const bad of [{ seconds: 'abc' }, { seconds: Object.create(null) as unknown }, [], { nanos: 'x' }]) {
      const result = validateBootstrap(cluster(bad));
      expect(result.valid, JSON.stringify(bad)).toBe(false);
    }
    expect(validateBootstrap(cluster({ seconds: '2', nanos: 5e8 })).valid).toBe(true);
  });

  it('Istio documents with "constructor"/"__proto__" keys: located errors, not a TypeError from the schema models', () => {
    const serviceEntry = (extra: string) => `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: se, namespace: apps}
spec:
  hosts: [a.example.com]
  resolution: DNS
  ports: [{name: http, number: 80, protocol: HTTP}]
${extra}`;
    const unknown = loadResources(serviceEntry('  constructor: null\n  __proto__: {a: 1}\n'), 'se.yaml');
    expect(unknown.errors.map((e) => `${e.path}: ${e.message}`)).toEqual(['spec.constructor: unknown field "constructor"', 'spec.__proto__: unknown field "__proto__"']);
    // A map key may be called "constructor"; its value is still type-checked.
    const mapEntry = loadResources(serviceEntry('  endpoints: [{address: b.example.com, ports: {constructor: [{toString: ""}]}}]\n'), 'se.yaml');
    expect(mapEntry.errors.map((e) => e.path)).toEqual(['spec.endpoints[0].ports.constructor']);
  });

  it('a YAML alias bomb is refused as bad config, not thrown as a ReferenceError', () => {
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]'].join('\n');
    expect(() => parseBootstrapText(bomb, 'bomb.yaml')).toThrow(/bomb\.yaml: the YAML cannot be read: Excessive alias count/);
  });
});
