import { lookupKind } from '../../../api/index.js';
import type { ResourceRef } from '../../store/index.js';
import { HttpError, readJson, sendJson } from '../http.js';
import { describeKinds, preferredApiVersion, resolveKind } from '../kinds.js';
import type { DeleteResponse, RefInput, ResultItem } from '../protocol.js';
import { invalidConfig } from './context.js';
import type { Handler } from './context.js';

function parseRefs(body: Record<string, unknown>): RefInput[] {
  const list = body['resources'];
  const valid = Array.isArray(list) && list.every((r) => r !== null && typeof r === 'object' && typeof (r as RefInput).kind === 'string' && typeof (r as RefInput).name === 'string');
  if (!valid || list.length === 0) {
    throw new HttpError(400, 'ERR_BAD_REQUEST', 'body.resources must be a non-empty list of {kind, name, namespace?}', 'name at least one resource to delete');
  }
  return list as RefInput[];
}

/** POST /v1/delete: all or nothing, like apply; kinds Isthmus does not use are reported as ignored. */
export const handleDelete: Handler = async (context, req, res) => {
  const body = await readJson(req);
  const defaultNamespace = typeof body['namespace'] === 'string' && body['namespace'] ? body['namespace'] : 'default';
  const refs: ResourceRef[] = [];
  const apiVersions: string[] = [];
  const ignored: ResultItem[] = [];
  for (const input of parseRefs(body)) {
    const names = resolveKind(input.kind);
    if (!names) {
      const lookup = input.apiVersion ? lookupKind(input.apiVersion, input.kind) : undefined;
      if (input.apiVersion && lookup?.status === 'ignored') {
        ignored.push({ apiVersion: input.apiVersion, kind: input.kind, namespace: input.namespace ?? '', name: input.name, action: 'ignored', reason: lookup.reason });
        continue;
      }
      throw new HttpError(400, 'ERR_UNKNOWN_KIND', `unknown kind "${input.kind}"`, `use one of ${describeKinds()}`);
    }
    refs.push({ kind: names.kind, namespace: names.namespaced ? input.namespace || defaultNamespace : '', name: input.name });
    apiVersions.push(input.apiVersion ?? preferredApiVersion(names));
  }
  const dryRun = body['dryRun'] === true;
  const outcome = refs.length > 0 ? await context.store.delete(refs, { ignoreNotFound: body['ignoreNotFound'] === true, dryRun }) : { ok: true as const, revision: context.store.revision(), results: [] };
  if (!outcome.ok) throw invalidConfig(outcome.errors, 'delete');
  const results: ResultItem[] = outcome.results.flatMap((r, i) =>
    r.action === 'deleted' ? [{ apiVersion: apiVersions[i] ?? '', kind: r.ref.kind, namespace: r.ref.namespace, name: r.ref.name, action: 'deleted' as const }] : []);
  const response: DeleteResponse = { revision: outcome.revision, dryRun, results: [...results, ...ignored] };
  sendJson(res, 200, response);
};
