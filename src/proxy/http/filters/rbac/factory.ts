import type { HttpRbac } from '../../../../envoy/index.js';
import { TYPE_URL } from '../../../../envoy/index.js';
import { StatsStore } from '../../../stats.js';
import type { FactoryResult, FilterFactoryContext, HttpFilterFactory } from '../../filter.js';
import { compileRbacConfig } from './config.js';
import { createRbacFilter } from './filter.js';
import { rbacStats } from './stats.js';

const FIELDS = ['rules', 'rules_stat_prefix', 'shadow_rules', 'shadow_rules_stat_prefix'] as const;

/** envoy.filters.http.rbac (extensions.filters.http.rbac.v3.RBAC): the rules compiled once per listener. */
export const rbacFilterFactory: HttpFilterFactory = {
  name: 'envoy.filters.http.rbac',
  typeUrls: [TYPE_URL.httpRbac],
  create(raw: Record<string, unknown>, context: FilterFactoryContext): FactoryResult {
    const config = raw as HttpRbac;
    const compiled = compileRbacConfig(config, FIELDS);
    if (compiled.errors.length > 0) return { valid: false, errors: compiled.errors };
    const stats = rbacStats(context.stats ?? new StatsStore(), context.statPrefix ?? '', config.rules_stat_prefix ?? '', config.shadow_rules_stat_prefix ?? '');
    return { valid: true, createFilter: () => createRbacFilter(compiled.config, stats) };
  },
};
