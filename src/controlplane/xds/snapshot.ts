import { createHash } from 'node:crypto';
import { ProtoError, encodeAny } from '../../envoy/index.js';
import type { EncodedAny } from '../../envoy/index.js';
import { checkConsistency } from './consistency.js';
import { EncodeMemo } from './encode-memo.js';
import type { ConsistencyResult } from './consistency.js';
import { XdsError } from './errors.js';
import { PUSH_ORDER, XDS_TYPES, resourceNameOf, shortTypeName } from './resource-types.js';
import type { XdsTypeUrl } from './resource-types.js';

type Json = Record<string, unknown>;

/** One resource of a snapshot: its JSON, its encoding (done once) and a content version for delta xDS. */
export interface SnapshotResource {
  readonly name: string;
  readonly json: Readonly<Json>;
  readonly any: EncodedAny;
  /** A hash of the encoded bytes: a resource whose bytes do not change keeps its version. */
  readonly version: string;
}

export interface SnapshotTypeInput {
  /** The type's version; by default a hash of its resources, so an identical rebuild is no change. */
  readonly version?: string;
  readonly resources: readonly Json[];
}

export type SnapshotInput = Partial<Record<XdsTypeUrl, SnapshotTypeInput>>;

interface TypeEntry {
  readonly version: string;
  readonly resources: ReadonlyMap<string, SnapshotResource>;
}

function hash(parts: Iterable<string | Uint8Array>): string {
  const h = createHash('sha256');
  for (const part of parts) h.update(part).update('\0');
  return h.digest('hex').slice(0, 16);
}

/**
 * An immutable, per-node set of Envoy resources, one version per type (go-control-plane's Snapshot).
 * Every resource is encoded as the real Envoy proto when the snapshot is built, so a resource Envoy
 * would not parse is refused here (ERR_XDS_BAD_RESOURCE) instead of reaching any proxy, and the bytes
 * are shared by every stream that sends them. A type left out is an empty set, not "unknown".
 */
export class Snapshot {
  private readonly entries: ReadonlyMap<XdsTypeUrl, TypeEntry>;

  constructor(input: SnapshotInput) {
    const entries = new Map<XdsTypeUrl, TypeEntry>();
    ENCODED.reserve(PUSH_ORDER.reduce((n, typeUrl) => n + (input[typeUrl]?.resources.length ?? 0), 0));
    for (const typeUrl of PUSH_ORDER) {
      const given = input[typeUrl];
      const resources = new Map<string, SnapshotResource>();
      for (const [index, json] of (given?.resources ?? []).entries()) {
        const resource = encodeResource(typeUrl, json, index);
        if (resources.has(resource.name)) {
          throw new XdsError('ERR_XDS_BAD_RESOURCE', `${shortTypeName(typeUrl)} resource "${resource.name}" appears twice in the snapshot`, {
            hint: 'resource names must be unique per type',
          });
        }
        resources.set(resource.name, resource);
      }
      const sorted = [...resources.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
      const version = given?.version ?? hash(sorted.flatMap((r) => [r.name, r.version]));
      entries.set(typeUrl, { version, resources });
    }
    this.entries = entries;
    Object.freeze(this);
  }

  version(typeUrl: XdsTypeUrl): string {
    return (this.entries.get(typeUrl) as TypeEntry).version;
  }

  resources(typeUrl: XdsTypeUrl): ReadonlyMap<string, SnapshotResource> {
    return (this.entries.get(typeUrl) as TypeEntry).resources;
  }

  /** Versions by type, e.g. for logs and status. */
  versions(): Record<XdsTypeUrl, string> {
    return Object.fromEntries([...this.entries].map(([typeUrl, entry]) => [typeUrl, entry.version])) as Record<XdsTypeUrl, string>;
  }

  /** Every EDS name a cluster needs and every RDS name a listener needs is here, and nothing unused. */
  consistent(): ConsistencyResult {
    const json = (typeUrl: XdsTypeUrl): Json[] => [...this.resources(typeUrl).values()].map((r) => r.json as Json);
    return checkConsistency({
      clusters: json(XDS_TYPES.CDS),
      endpoints: [...this.resources(XDS_TYPES.EDS).keys()],
      listeners: json(XDS_TYPES.LDS),
      routes: [...this.resources(XDS_TYPES.RDS).keys()],
      secrets: [...this.resources(XDS_TYPES.SDS).keys()],
    });
  }
}

/** Encodings shared by every snapshot this process builds (the same JSON text always encodes the same). */
const ENCODED = new EncodeMemo<SnapshotResource>();

function encodeResource(typeUrl: XdsTypeUrl, json: Json, index: number): SnapshotResource {
  return ENCODED.get(`${typeUrl}\n${JSON.stringify(json)}`, () => encodeResourceOnce(typeUrl, json, index));
}

function encodeResourceOnce(typeUrl: XdsTypeUrl, json: Json, index: number): SnapshotResource {
  const name = resourceNameOf(typeUrl, json);
  const where = `${shortTypeName(typeUrl)} resource ${typeof name === 'string' && name ? `"${name}"` : `#${index}`}`;
  if (typeof name !== 'string' || name === '') {
    throw new XdsError('ERR_XDS_BAD_RESOURCE', `${where} has no name`, { hint: 'xDS resources are subscribed by name: set name (cluster_name for endpoints)' });
  }
  try {
    const any = encodeAny(typeUrl, json);
    return { name, json: Object.freeze(structuredClone(json)), any, version: hash([any.value]) };
  } catch (err) {
    if (err instanceof ProtoError) throw new XdsError('ERR_XDS_BAD_RESOURCE', `${where}: ${err.message}`, { hint: err.hint, cause: err });
    throw err;
  }
}
