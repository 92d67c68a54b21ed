import { analyze, buildSnapshot, loadResources } from '../../../api/index.js';
import { refKey, refOf } from '../../store/index.js';
import { param, readText, sendJson } from '../http.js';
import type { AnalyzeResponse } from '../protocol.js';
import { invalidConfig } from './context.js';
import type { Handler } from './context.js';

/**
 * GET /v1/analyze: istioctl analyze over the served config. POST with YAML in the body analyzes the
 * served config with those resources added or replaced, without storing them (istioctl analyze -f
 * against a live cluster).
 */
export const handleAnalyze: Handler = async (context, req, res, query) => {
  let snapshot = context.store.snapshot();
  if (req.method === 'POST') {
    const source = param(query, 'source') ?? 'request';
    const loaded = loadResources(await readText(req), source);
    if (loaded.errors.length > 0) throw invalidConfig(loaded.errors, `analysis of ${source}`);
    const merged = new Map(context.store.get().map((s) => [refKey(refOf(s.resource)), s.resource]));
    for (const resource of loaded.resources) merged.set(refKey(refOf(resource)), resource);
    snapshot = buildSnapshot([...merged.values()]);
  }
  const namespace = param(query, 'namespace');
  const messages = analyze(snapshot, { ...context.analyzeOptions(), ...(namespace ? { namespace } : {}) });
  const body: AnalyzeResponse = { revision: context.store.revision(), snapshotVersion: snapshot.version, messages, problems: context.store.problems() };
  sendJson(res, 200, body);
};
