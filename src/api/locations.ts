/**
 * Field locations of loaded resources, so that findings made later (analysis) can point at the line of
 * the field, not only at the document. Held weakly: a resource that is dropped takes its YAML tree along.
 */
import type { FieldPath } from './paths.js';
import type { IstioResource, SourceLocation } from './types.js';

type Locate = (path: FieldPath) => { line: number; column: number } | undefined;

const locators = new WeakMap<IstioResource, Locate>();

export function rememberLocator(resource: IstioResource, locate: Locate): void {
  locators.set(resource, locate);
}

/** The file/line/column of `path` in the resource's document, or the resource's origin when unknown. */
export function locateField(resource: IstioResource, path: FieldPath): SourceLocation | undefined {
  const origin = resource.origin;
  const at = locators.get(resource)?.(path);
  if (!origin || !at) return origin;
  return { ...origin, line: at.line, column: at.column };
}
