import type { Counter, StatsStore } from '../../../stats.js';

/** Envoy's RBAC counters: <prefix>rbac.<rules_stat_prefix>{allowed,denied,logged,not_logged} and the shadow pair. */
export interface RbacStats {
  readonly allowed: Counter;
  readonly denied: Counter;
  readonly logged: Counter;
  readonly notLogged: Counter;
  readonly shadowAllowed: Counter;
  readonly shadowDenied: Counter;
}

/** Envoy's statPrefixJoin: "tcp" and "tcp." both give "tcp.rbac.". */
export function rbacStats(stats: StatsStore, prefix: string, rulesPrefix = '', shadowPrefix = ''): RbacStats {
  const base = prefix === '' ? 'rbac.' : prefix.endsWith('.') ? `${prefix}rbac.` : `${prefix}.rbac.`;
  return {
    allowed: stats.counter(`${base}${rulesPrefix}allowed`),
    denied: stats.counter(`${base}${rulesPrefix}denied`),
    logged: stats.counter(`${base}${rulesPrefix}logged`),
    notLogged: stats.counter(`${base}${rulesPrefix}not_logged`),
    shadowAllowed: stats.counter(`${base}${shadowPrefix}shadow_allowed`),
    shadowDenied: stats.counter(`${base}${shadowPrefix}shadow_denied`),
  };
}
