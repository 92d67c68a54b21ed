/** Host names as Istio compares them (pkg/config/host), and exportTo visibility. */

function isWildcard(host: string): boolean {
  return host.startsWith('*');
}

/** True when the two names can match a common host ("*.example.com" and "api.example.com"). */
export function hostsMatch(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (isWildcard(x) && isWildcard(y)) return x.length < y.length ? y.slice(1).endsWith(x.slice(1)) : x.slice(1).endsWith(y.slice(1));
  if (isWildcard(x)) return y.endsWith(x.slice(1));
  if (isWildcard(y)) return x.endsWith(y.slice(1));
  return x === y;
}

/** True when every host `a` names is also named by `b` ("api.example.com" is a subset of "*.example.com"). */
export function hostSubsetOf(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (isWildcard(x)) return isWildcard(y) && x.slice(1).endsWith(y.slice(1));
  if (isWildcard(y)) return x.endsWith(y.slice(1));
  return x === y;
}

/**
 * Istio resolves a short name relative to the namespace of the config that uses it:
 * "reviews" in namespace "shop" is reviews.shop.svc.cluster.local.
 */
export function resolveHost(host: string, namespace: string, domainSuffix = 'cluster.local'): string {
  if (host === '*' || host.includes('.')) return host.toLowerCase();
  return `${host}.${namespace}.svc.${domainSuffix}`.toLowerCase();
}

/**
 * Whether config in `ownerNamespace` with this exportTo is visible to config in `fromNamespace`.
 * An empty exportTo means "*", Istio's default.
 */
export function isExportedTo(exportTo: readonly string[] | undefined, ownerNamespace: string, fromNamespace: string): boolean {
  if (!exportTo || exportTo.length === 0) return true;
  return exportTo.some((e) => e === '*' || (e === '.' ? ownerNamespace === fromNamespace : e === fromNamespace));
}

/** "a=1,b=2", sorted, as istioctl prints selectors. */
export function formatSelector(labels: Readonly<Record<string, string>> | undefined): string {
  return Object.entries(labels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function selectorMatches(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}
