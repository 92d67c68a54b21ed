import { json } from '../responses.js';
import type { AdminHandler } from '../types.js';

function numberParam(query: URLSearchParams, name: string): number | undefined | Error {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : new Error(`${name} must be a non-negative number, got "${raw}"`);
}

/**
 * GET /isthmus/trace?request_id=ID | ?since=MS&sni=NAME[&kind=tcp|http|listener][&limit=N]: the recorder's
 * entries (completed HTTP streams, TCP proxy connections, listener-level refusals), oldest first.
 */
export const traceHandler: AdminHandler = {
  path: '/isthmus/trace',
  help: 'recent requests and connections: ?request_id=ID, or ?since=<ms epoch>&sni=NAME&kind=tcp|http|listener&limit=N',
  mutatesState: false,
  handle(request, context) {
    const recorder = context.options.trace;
    if (!recorder) return json(404, { error: 'this proxy records no trace' });
    const q = request.query;
    const since = numberParam(q, 'since');
    const limit = numberParam(q, 'limit');
    if (since instanceof Error) return json(400, { error: since.message });
    if (limit instanceof Error) return json(400, { error: limit.message });
    const kind = q.get('kind') ?? undefined;
    if (kind !== undefined && kind !== 'http' && kind !== 'tcp' && kind !== 'listener') return json(400, { error: `kind must be http, tcp or listener, got "${kind}"` });
    const entries = recorder.query({
      ...(q.get('request_id') ? { requestId: q.get('request_id') as string } : {}),
      ...(since !== undefined ? { sinceMs: since } : {}),
      ...(q.get('sni') ? { sni: q.get('sni') as string } : {}),
      ...(kind ? { kind } : {}),
      ...(limit !== undefined ? { limit } : {}),
    });
    return json(200, { recorded: recorder.recorded, sampled_out: recorder.sampledOut, held: recorder.size, max_entries: recorder.maxEntries, entries });
  },
};
