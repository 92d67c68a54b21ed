/**
 * Matches request paths against registered HttpRule templates, like grpc-httpjson-transcoding's
 * PathMatcher: a trie over template segments, searched depth first with literal segments before `*`
 * before `**`, so the most literal template wins. A ":verb" suffix of the last segment is split off
 * only when some template registered that verb.
 */
import type { PathTemplate } from './path-template.js';
import { unescapePathValue } from './url-unescape.js';

export interface VariableBinding {
  readonly fieldPath: readonly string[];
  readonly value: string;
}

export interface PathMatch<T> {
  readonly data: T;
  readonly bindings: VariableBinding[];
}

/** HttpRule `custom { kind: "*" }` matches any HTTP method. */
export const ANY_HTTP_METHOD = '*';

interface Registration<T> {
  readonly template: PathTemplate;
  readonly data: T;
}

class TrieNode<T> {
  readonly literals = new Map<string, TrieNode<T>>();
  wildcard: TrieNode<T> | undefined;
  deepWildcard: TrieNode<T> | undefined;
  /** verb ('' for none) -> HTTP method -> registration */
  readonly routes = new Map<string, Map<string, Registration<T>>>();

  route(verb: string, httpMethod: string): Registration<T> | undefined {
    const byMethod = this.routes.get(verb);
    return byMethod?.get(httpMethod) ?? byMethod?.get(ANY_HTTP_METHOD);
  }
}

/** Splits "/a/b/" into ["a", "b"]: trailing empty segments are dropped, as the reference matcher does. */
export function splitRequestPath(path: string): string[] {
  const parts = path.length > 1 ? path.slice(1).split('/') : [];
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export class PathMatcher<T> {
  private readonly root = new TrieNode<T>();
  private readonly verbs = new Set<string>();

  /** Registers a template; returns the data already registered for the same method and shape, if any. */
  register(httpMethod: string, template: PathTemplate, data: T): T | undefined {
    let node = this.root;
    for (const segment of template.segments) {
      if (segment.kind === 'literal') {
        let next = node.literals.get(segment.value);
        if (!next) node.literals.set(segment.value, (next = new TrieNode<T>()));
        node = next;
      } else if (segment.kind === 'wildcard') {
        node = node.wildcard ??= new TrieNode<T>();
      } else {
        node = node.deepWildcard ??= new TrieNode<T>();
      }
    }
    const verb = template.verb ?? '';
    let byMethod = node.routes.get(verb);
    if (!byMethod) node.routes.set(verb, (byMethod = new Map()));
    const existing = byMethod.get(httpMethod);
    if (existing) return existing.data;
    byMethod.set(httpMethod, { template, data });
    if (template.verb !== undefined) this.verbs.add(template.verb);
    return undefined;
  }

  /** Looks up a request; `path` is the path without the query string. */
  lookup(httpMethod: string, path: string): PathMatch<T> | undefined {
    const parts = splitRequestPath(path);
    let verb = '';
    const last = parts[parts.length - 1];
    if (last !== undefined) {
      const colon = last.lastIndexOf(':');
      if (colon >= 0 && this.verbs.has(last.slice(colon + 1))) {
        verb = last.slice(colon + 1);
        parts[parts.length - 1] = last.slice(0, colon);
      }
    }
    const found = this.search(this.root, parts, 0, httpMethod, verb);
    if (!found) return undefined;
    const bindings = found.template.variables.map((variable) => {
      const end = variable.endSegment === -1 ? parts.length : variable.endSegment;
      const value = parts.slice(variable.startSegment, end).join('/');
      return { fieldPath: variable.fieldPath, value: unescapePathValue(value) };
    });
    return { data: found.data, bindings };
  }

  private search(node: TrieNode<T>, parts: string[], index: number, httpMethod: string, verb: string): Registration<T> | undefined {
    if (index === parts.length) {
      // `**` also matches zero segments.
      return node.route(verb, httpMethod) ?? node.deepWildcard?.route(verb, httpMethod);
    }
    const literal = node.literals.get(parts[index] as string);
    const viaLiteral = literal && this.search(literal, parts, index + 1, httpMethod, verb);
    if (viaLiteral) return viaLiteral;
    const viaWildcard = node.wildcard && this.search(node.wildcard, parts, index + 1, httpMethod, verb);
    if (viaWildcard) return viaWildcard;
    return node.deepWildcard?.route(verb, httpMethod);
  }
}
