import type { EngineResult, RbacEngine, RbacSubject } from './engine.js';
import type { RbacStats } from './stats.js';

/** What the filters record about one evaluation (Envoy's dynamic metadata of envoy.filters.*.rbac). */
export interface RbacDecision {
  /** False only when enforced rules refuse. */
  readonly allowed: boolean;
  readonly policyId?: string;
  /** LOG action: the request matched a policy and should be logged (access_log_hint). */
  readonly accessLogHint?: boolean;
  readonly shadowEffectivePolicyId?: string;
  readonly shadowEngineResult?: 'allowed' | 'denied';
}

/** Runs the shadow rules (counted, never enforced), then the enforced rules, as Envoy's RBAC filters do. */
export function decide(subject: RbacSubject, engine: RbacEngine | undefined, shadow: RbacEngine | undefined, stats: RbacStats): RbacDecision {
  let shadowPart: Pick<RbacDecision, 'shadowEffectivePolicyId' | 'shadowEngineResult'> = {};
  if (shadow) {
    const r: EngineResult = shadow.evaluate(subject);
    (r.allowed ? stats.shadowAllowed : stats.shadowDenied).inc();
    shadowPart = { shadowEngineResult: r.allowed ? 'allowed' : 'denied', ...(r.policyId ? { shadowEffectivePolicyId: r.policyId } : {}) };
  }
  if (!engine) return { allowed: true, ...shadowPart };
  const r = engine.evaluate(subject);
  if (engine.action === 'LOG') {
    (r.policyId !== undefined ? stats.logged : stats.notLogged).inc();
    return { allowed: true, accessLogHint: r.policyId !== undefined, ...(r.policyId ? { policyId: r.policyId } : {}), ...shadowPart };
  }
  (r.allowed ? stats.allowed : stats.denied).inc();
  return { allowed: r.allowed, ...(r.policyId ? { policyId: r.policyId } : {}), ...shadowPart };
}
