import type { HttpRbac, NetworkRbac, RbacRules } from '../../../../envoy/index.js';
import type { FieldError } from '../../filter.js';
import { compileRbac } from './engine.js';
import type { RbacEngine } from './engine.js';

export interface CompiledRbacConfig {
  /** Absent: nothing is enforced (only shadow rules, if any, are evaluated). */
  readonly engine?: RbacEngine;
  readonly shadow?: RbacEngine;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rules(value: unknown, path: string, errors: FieldError[]): RbacEngine | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    errors.push({ path, message: 'must be an object (RBAC rules: action, policies)' });
    return undefined;
  }
  if (value.policies !== undefined && !isObject(value.policies)) {
    errors.push({ path: `${path}.policies`, message: 'must be a map of policy name to {permissions, principals}' });
    return undefined;
  }
  const compiled = compileRbac(value as RbacRules, path);
  errors.push(...compiled.errors);
  return compiled.engine;
}

/** Checks the fields both RBAC filters share and compiles their rules; unknown fields are errors. */
export function compileRbacConfig(config: HttpRbac | NetworkRbac, allowed: readonly string[]): { config: CompiledRbacConfig; errors: FieldError[] } {
  const errors: FieldError[] = [];
  for (const key of Object.keys(config)) {
    if (!allowed.includes(key)) errors.push({ path: key, message: `unsupported field "${key}"; Isthmus implements ${allowed.join(', ')}` });
  }
  for (const key of ['rules_stat_prefix', 'shadow_rules_stat_prefix', 'stat_prefix'] as const) {
    const v = (config as Record<string, unknown>)[key];
    if (v !== undefined && typeof v !== 'string') errors.push({ path: key, message: 'must be a string' });
  }
  const engine = rules(config.rules, 'rules', errors);
  const shadow = rules(config.shadow_rules, 'shadow_rules', errors);
  return { config: { ...(engine ? { engine } : {}), ...(shadow ? { shadow } : {}) }, errors };
}
