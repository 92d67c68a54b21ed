import type { MessageSchema } from './schema.js';

/**
 * ?mask= as protobuf FieldMask trimming on proto3 JSON: keep only the listed paths ("a.b,c"). As
 * with FieldMaskUtil, a path may not name an unknown field of a known message, nor go through a
 * repeated field or into an Any (except the one Any of a config dump resource, which Envoy unpacks).
 */
type MaskTree = Map<string, MaskTree | true>;

export const INVALID = Symbol('invalid field mask');
type Trimmed = Record<string, unknown> | typeof INVALID;

export function parseMask(mask: string): string[][] {
  return mask
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => p.split('.'));
}

function toTree(paths: readonly string[][]): MaskTree {
  const root: MaskTree = new Map();
  for (const path of paths) {
    let node = root;
    for (const [i, field] of path.entries()) {
      const existing = node.get(field);
      if (existing === true) break; // the whole field is already kept
      if (i === path.length - 1) {
        node.set(field, true);
        break;
      }
      const child: MaskTree = existing ?? new Map();
      node.set(field, child);
      node = child;
    }
  }
  return root;
}

/** Trims a message whose fields are not described: any field name is accepted. */
function trimUnknown(value: unknown, tree: MaskTree, isAny: boolean): Trimmed {
  // A path can continue only into a singular message, and not through an Any.
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return INVALID;
  const message = value as Record<string, unknown>;
  if ('@type' in message && !isAny) return INVALID;
  const out: Record<string, unknown> = isAny ? { '@type': message['@type'] } : {};
  for (const [key, field] of Object.entries(message)) {
    const sub = tree.get(key);
    if (sub === undefined) continue;
    if (sub === true) {
      out[key] = field;
      continue;
    }
    const trimmed = trimUnknown(field, sub, false);
    if (trimmed === INVALID) return INVALID;
    out[key] = trimmed;
  }
  return out;
}

/**
 * Trims a config dump message (or resource element) described by `schema`. `unpackAny` lets paths go
 * into the schema's Any field, as Envoy does for ?resource=...&mask=.
 */
export function trimMessage(message: Record<string, unknown>, schema: MessageSchema, paths: readonly string[][], unpackAny: boolean): Trimmed {
  for (const path of paths) {
    const kind = schema.fields[path[0] as string];
    if (kind === undefined) return INVALID;
    if (path.length > 1 && kind !== 'message' && !(kind === 'any' && unpackAny)) return INVALID;
  }
  const tree = toTree(paths);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(message)) {
    const sub = key === '@type' ? true : tree.get(key);
    if (sub === undefined) continue;
    if (sub === true) {
      out[key] = field;
      continue;
    }
    const trimmed = trimUnknown(field, sub, schema.fields[key] === 'any');
    if (trimmed === INVALID) return INVALID;
    out[key] = trimmed;
  }
  return out;
}
