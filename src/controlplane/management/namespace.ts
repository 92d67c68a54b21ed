import type { IstioResource } from '../../api/index.js';
import type { StoreProblem } from '../store/index.js';
import { resolveKind } from './kinds.js';
import { manifestObjects } from './manifests.js';

/** The namespace each object declares, keyed by document index, kind and name (a List's items share a document). */
function declaredNamespaces(text: string): Map<string, string> {
  const declared = new Map<string, string>();
  for (const { document, value } of manifestObjects(text).objects) {
    const metadata = value['metadata'] as { name?: unknown; namespace?: unknown } | undefined;
    if (typeof metadata?.namespace === 'string' && metadata.namespace !== '') {
      declared.set(`${document}/${String(value['kind'])}/${String(metadata.name)}`, metadata.namespace);
    }
  }
  return declared;
}

/**
 * `apply -n NS`, as kubectl: objects that name no namespace go to NS; an object that names another
 * namespace is refused rather than moved.
 */
export function withNamespace(text: string, resources: readonly IstioResource[], namespace: string): { resources: IstioResource[]; errors: StoreProblem[] } {
  const declared = declaredNamespaces(text);
  const errors: StoreProblem[] = [];
  const out = resources.map((resource) => {
    if (!resolveKind(resource.kind)?.namespaced) return resource;
    const own = declared.get(`${resource.origin?.document ?? 1}/${resource.kind}/${resource.metadata.name}`);
    if (own !== undefined && own !== namespace) {
      const error: StoreProblem = {
        severity: 'error', code: 'INVALID_OBJECT', source: resource.origin?.source ?? 'request', kind: resource.kind, name: resource.metadata.name, namespace: own,
        resource: `${resource.kind} ${resource.metadata.name}.${own}`, path: 'metadata.namespace',
        message: `the namespace of the object ("${own}") does not match the namespace given with -n ("${namespace}")`,
        fix: `pass -n ${own}, or remove metadata.namespace from the object`,
      };
      errors.push(resource.origin?.document === undefined ? error : { ...error, document: resource.origin.document });
      return resource;
    }
    return { ...resource, metadata: { ...resource.metadata, namespace } } as IstioResource;
  });
  return { resources: out, errors };
}
