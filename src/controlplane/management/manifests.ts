import { parseAllDocuments } from 'yaml';

/** One object of a manifest: a document, an item of a `kind: List`, or an element of a JSON array. */
export interface ManifestObject {
  /** 1-based document index, as src/api counts documents. */
  readonly document: number;
  readonly value: Readonly<Record<string, unknown>>;
}

/**
 * The objects in multi-document YAML (or JSON) text, without validating them: enough to name resources
 * (delete -f) or see what a document declared (apply -n). Syntax errors are returned, not thrown.
 */
export function manifestObjects(text: string): { objects: ManifestObject[]; error?: { document: number; message: string } } {
  const objects: ManifestObject[] = [];
  const add = (document: number, value: unknown): void => {
    if (Array.isArray(value)) return value.forEach((v) => add(document, v));
    if (value === null || typeof value !== 'object') return;
    const obj = value as Record<string, unknown>;
    if (obj['kind'] === 'List' && Array.isArray(obj['items'])) return obj['items'].forEach((v) => add(document, v));
    objects.push({ document, value: obj });
  };
  const docs = parseAllDocuments(text);
  const broken = Array.isArray(docs) ? docs.findIndex((d) => d.errors.length > 0) : -1;
  if (broken >= 0) {
    // YAML refuses some JSON that JSON.parse takes; src/api reads such text as one JSON document.
    try {
      add(1, JSON.parse(text));
      return { objects };
    } catch {
      const doc = Array.isArray(docs) ? docs[broken] : undefined;
      return { objects, error: { document: broken + 1, message: doc?.errors[0]?.message ?? 'not YAML' } };
    }
  }
  if (Array.isArray(docs)) docs.forEach((doc, i) => add(i + 1, doc.toJS()));
  return { objects };
}
