/** Field paths inside a document: segments are keys or list indexes; printed as spec.servers[0].tls.mode. */
export type FieldPath = ReadonlyArray<string | number>;

/** A problem found by schema or semantic validation, before it is tied to a file and line. */
export interface Issue {
  readonly path: FieldPath;
  readonly message: string;
  readonly fix: string;
  /** Warnings do not reject the resource (Istio's WrapWarning). */
  readonly warning?: boolean;
  readonly code?: 'SCHEMA' | 'SEMANTIC';
}

const PLAIN_KEY = /^[A-Za-z_$][\w$]*$/;

export function formatPath(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    // Label keys like istio.io/rev would be ambiguous after a dot.
    else if (PLAIN_KEY.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Shorthand for building issues in validators; every issue says how to fix it. */
export function issue(path: FieldPath, message: string, fix: string): Issue {
  return { path, message, fix };
}

export function warning(path: FieldPath, message: string, fix: string): Issue {
  return { path, message, fix, warning: true };
}
