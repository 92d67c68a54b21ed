import { loadResources } from '../../../api/index.js';
import type { IstioResource, SourceLocation } from '../../../api/index.js';
import { flag, HttpError, param, readText, sendJson } from '../http.js';
import { withNamespace } from '../namespace.js';
import type { ApplyResponse, ResultItem } from '../protocol.js';
import { invalidConfig } from './context.js';
import type { Handler } from './context.js';

function position(origin: SourceLocation | undefined): number {
  return (origin?.document ?? 0) * 1e6 + (origin?.line ?? 0);
}

/**
 * POST /v1/apply: YAML/JSON text in, kubectl's per-resource result out. All or nothing: one bad
 * document refuses the whole request, and the store keeps what it had.
 */
export const handleApply: Handler = async (context, req, res, query) => {
  const text = await readText(req);
  const source = param(query, 'source') ?? 'request';
  const dryRun = flag(query, 'dryRun');
  const loaded = loadResources(text, source);
  if (loaded.errors.length > 0) throw invalidConfig([...loaded.errors, ...loaded.warnings], `apply of ${source}`);
  let resources: IstioResource[] = loaded.resources;
  const namespace = param(query, 'namespace');
  if (namespace !== undefined) {
    const placed = withNamespace(text, resources, namespace);
    if (placed.errors.length > 0) throw invalidConfig(placed.errors, `apply of ${source}`);
    resources = placed.resources;
  }
  if (resources.length === 0 && loaded.ignored.length === 0) {
    throw new HttpError(400, 'ERR_NO_RESOURCES', `no resources found in ${source}`, 'give YAML or JSON documents with apiVersion, kind and metadata.name');
  }
  const outcome = await context.store.apply(resources, { source, dryRun, createOnly: flag(query, 'createOnly') });
  if (!outcome.ok) throw invalidConfig(outcome.errors, `apply of ${source}`);

  // Results in document order, ignored kinds (Deployment, IstioOperator, ...) where they were written.
  const ordered: Array<{ at: number; item: ResultItem }> = outcome.results.map((r, i) => ({
    at: position(resources[i]?.origin),
    item: { apiVersion: r.apiVersion, kind: r.ref.kind, namespace: r.ref.namespace, name: r.ref.name, action: r.action },
  }));
  for (const ignored of loaded.ignored) {
    ordered.push({ at: position(ignored.origin), item: { apiVersion: ignored.apiVersion, kind: ignored.kind, namespace: ignored.namespace, name: ignored.name, action: 'ignored', reason: ignored.reason } });
  }
  ordered.sort((a, b) => a.at - b.at);
  const body: ApplyResponse = {
    revision: outcome.revision,
    dryRun,
    results: ordered.map((o) => o.item),
    // Ignored kinds are reported as results already.
    warnings: loaded.warnings.filter((w) => w.code !== 'IGNORED_KIND'),
  };
  sendJson(res, 200, body);
};
