/** Visibility (exportTo) and label selection, as Istio scopes config to namespaces and workloads. */
import type { Labels } from './input.js';

/** Whether a resource in `ownerNamespace` with `exportTo` is visible from `viewerNamespace` (default: everywhere). */
export function isExportedTo(exportTo: readonly string[] | undefined, ownerNamespace: string, viewerNamespace: string): boolean {
  const list = exportTo && exportTo.length > 0 ? exportTo : ['*'];
  return list.some((e) => e === '*' || e === viewerNamespace || (e === '.' && ownerNamespace === viewerNamespace));
}

/** Every key of the selector has the same value in labels (an empty selector selects everything). */
export function labelsMatch(selector: Labels | undefined, labels: Labels | undefined): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}
