/** Problems found while translating: the output is still produced, without the part that could not be. */

export interface TranslateWarning {
  /** "<Kind>/<namespace>/<name>" of the resource at fault, or "proxy" for the proxy node. */
  readonly resource: string;
  readonly message: string;
}

export type WarningSink = (resource: string, message: string) => void;

export function resourceRef(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? 'default'}/${name}`;
}
