/** Istio's host name semantics (pkg/config/host): wildcards, matching, subset and namespace-scoped hosts. */

export function isWildcard(host: string): boolean {
  return host.startsWith('*');
}

/** True when some name is matched by both (Istio's Name.Matches). */
export function hostMatches(a: string, b: string): boolean {
  if (a === '*' || b === '*') return true;
  if (isWildcard(a) && isWildcard(b)) return a.length > b.length ? a.endsWith(b.slice(1)) : b.endsWith(a.slice(1));
  if (isWildcard(a)) return b.endsWith(a.slice(1));
  if (isWildcard(b)) return a.endsWith(b.slice(1));
  return a === b;
}

/** True when every name `a` matches is also matched by `b` (Istio's Name.SubsetOf). */
export function hostSubsetOf(a: string, b: string): boolean {
  if (isWildcard(a)) return isWildcard(b) && a.slice(1).endsWith(b.slice(1));
  if (!isWildcard(b)) return a === b;
  return b === '*' || a.endsWith(b.slice(1));
}

/** The candidate that matches `host` most specifically: exact first, then the longest wildcard. */
export function mostSpecificHost(host: string, candidates: readonly string[]): string | undefined {
  if (candidates.includes(host)) return host;
  let best: string | undefined;
  for (const c of candidates) {
    if (isWildcard(c) && hostSubsetOf(host, c) && (best === undefined || c.length > best.length)) best = c;
  }
  return best;
}

/**
 * The hosts of both lists that overlap, the more specific of each overlapping pair (Istio's
 * Names.Intersection): server "*" with VirtualService "lambda.external" gives "lambda.external".
 */
export function intersectHosts(a: readonly string[], b: readonly string[]): string[] {
  const out = new Set<string>();
  for (const x of a) {
    for (const y of b) {
      if (x === y || hostSubsetOf(x, y)) out.add(x);
      else if (hostSubsetOf(y, x)) out.add(y);
    }
  }
  return [...out];
}

/**
 * Gateway server hosts as seen from a namespace: "ns/host" applies only to resources in ns, "*\/host"
 * and "./host" (resolved by the caller) to all; the namespace part is stripped.
 */
export function hostsForNamespace(serverHosts: readonly string[], namespace: string): string[] {
  const out: string[] = [];
  for (const h of serverHosts) {
    const slash = h.indexOf('/');
    if (slash < 0) out.push(h);
    else {
      const ns = h.slice(0, slash);
      if (ns === '*' || ns === namespace) out.push(h.slice(slash + 1));
    }
  }
  return out;
}

/** "./host" -> "<ns>/host", "*\/host" -> "host" (Istio's sanitizeServerHostNamespace). */
export function sanitizeServerHost(host: string, gatewayNamespace: string): string {
  const slash = host.indexOf('/');
  if (slash < 0) return host;
  const ns = host.slice(0, slash);
  const name = host.slice(slash + 1);
  if (ns === '.') return `${gatewayNamespace}/${name}`;
  if (ns === '*') return name;
  return host;
}

/** The host part of a possibly namespace-scoped host. */
export function stripNamespace(host: string): string {
  const slash = host.indexOf('/');
  return slash < 0 ? host : host.slice(slash + 1);
}

/** Short names ("reviews") are relative to the namespace of the resource that wrote them (Istio's ResolveShortnameToFQDN). */
export function resolveShortName(host: string, namespace: string, domainSuffix: string): string {
  if (host === '*' || host.includes('.') || host.includes('/')) return host;
  return `${host}.${namespace}.svc.${domainSuffix}`;
}
