import type { StoredResource } from '../../store/index.js';
import { HttpError, param, sendJson } from '../http.js';
import { describeKinds, resolveKind } from '../kinds.js';
import type { ResourceItem, ResourcesResponse, ResourceView } from '../protocol.js';
import type { Handler } from './context.js';

/** The resource with the server's bookkeeping in metadata, the way kubectl get -o yaml shows it. */
export function viewOf(stored: StoredResource): ResourceItem {
  const { apiVersion, kind, metadata, ...rest } = stored.resource;
  // Key order as kubectl prints it: apiVersion, kind, metadata, then the body.
  const resource = { apiVersion, kind, metadata: { ...metadata, resourceVersion: String(stored.resourceVersion), creationTimestamp: stored.creationTimestamp }, ...rest };
  return { resource: resource as ResourceView, origin: stored.origin, source: stored.source };
}

/** GET /v1/resources?kind=&namespace=&name=: every filter optional; a missing named resource is a 404. */
export const handleResources: Handler = async (context, _req, res, query) => {
  const kindText = param(query, 'kind');
  const names = kindText === undefined ? undefined : resolveKind(kindText);
  if (kindText !== undefined && !names) {
    throw new HttpError(400, 'ERR_UNKNOWN_KIND', `the server doesn't have a resource type "${kindText}"`, `use one of ${describeKinds()}`);
  }
  const name = param(query, 'name');
  // Cluster-scoped kinds have no namespace, whatever -n says.
  const namespace = names && !names.namespaced ? undefined : param(query, 'namespace');
  const items = context.store.get(names?.kind, namespace, name).map(viewOf);
  if (name !== undefined && items.length === 0) {
    const type = names ? (names.group ? `${names.plural}.${names.group}` : names.plural) : 'resource';
    throw new HttpError(404, 'ERR_NOT_FOUND', `${type} "${name}" not found${namespace ? ` in namespace "${namespace}"` : ''}`, 'check the name and the namespace (-n, or -A for all namespaces)');
  }
  const body: ResourcesResponse = names ? { revision: context.store.revision(), kind: names.kind, items } : { revision: context.store.revision(), items };
  sendJson(res, 200, body);
};
