/**
 * Parses google.api.HttpRule path templates:
 *
 *   Template = "/" Segments [ Verb ] ;
 *   Segments = Segment { "/" Segment } ;
 *   Segment  = "*" | "**" | LITERAL | Variable ;
 *   Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *   Verb     = ":" LITERAL ;
 *
 * `{var}` is short for `{var=*}`. `**` matches zero or more segments and, as in grpc-httpjson-transcoding,
 * must be the last segment, so every variable covers a fixed range of segments or runs to the end.
 */

export type TemplateSegment =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'wildcard' }
  | { readonly kind: 'deepWildcard' };

export interface TemplateVariable {
  /** The request field the value binds to, e.g. ["fortune", "id"]. */
  readonly fieldPath: readonly string[];
  readonly startSegment: number;
  /** Exclusive; -1 when the variable ends with `**` and so runs to the end of the request path. */
  readonly endSegment: number;
}

export interface PathTemplate {
  readonly segments: readonly TemplateSegment[];
  readonly variables: readonly TemplateVariable[];
  readonly verb: string | undefined;
}

export class PathTemplateError extends Error {
  constructor(template: string, reason: string) {
    super(`invalid path template '${template}': ${reason}`);
    this.name = 'PathTemplateError';
  }
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parsePathTemplate(template: string): PathTemplate {
  const fail = (reason: string): never => {
    throw new PathTemplateError(template, reason);
  };
  if (!template.startsWith('/')) fail("it must start with '/'");

  const segments: TemplateSegment[] = [];
  const variables: TemplateVariable[] = [];
  let verb: string | undefined;
  let pos = 1;

  // The root template "/" has no segments.
  if (template.length === 1) return { segments, variables, verb };

  const readLiteral = (): string => {
    const start = pos;
    while (pos < template.length && !'/{}:=*'.includes(template[pos] as string)) pos++;
    if (pos === start) fail(`expected a segment at offset ${start}`);
    return template.slice(start, pos);
  };

  const readSegment = (inVariable: boolean): void => {
    if (template.startsWith('**', pos)) {
      segments.push({ kind: 'deepWildcard' });
      pos += 2;
    } else if (template[pos] === '*') {
      segments.push({ kind: 'wildcard' });
      pos += 1;
    } else if (template[pos] === '{') {
      if (inVariable) fail('variables cannot be nested');
      readVariable();
    } else {
      segments.push({ kind: 'literal', value: readLiteral() });
    }
  };

  const readVariable = (): void => {
    pos += 1; // '{'
    const close = template.indexOf('}', pos);
    if (close < 0) fail("unterminated '{'");
    const eq = template.indexOf('=', pos);
    const nameEnd = eq >= 0 && eq < close ? eq : close;
    const fieldPath = template.slice(pos, nameEnd).split('.');
    if (!fieldPath.every((part) => IDENT.test(part))) fail(`'${template.slice(pos, nameEnd)}' is not a field path`);
    const startSegment = segments.length;
    if (nameEnd === close) {
      segments.push({ kind: 'wildcard' });
      pos = close;
    } else {
      pos = eq + 1;
      readSegment(true);
      while (template[pos] === '/') {
        pos += 1;
        readSegment(true);
      }
      if (template[pos] !== '}') fail(`expected '}' at offset ${pos}`);
    }
    pos += 1; // '}'
    const endsDeep = segments[segments.length - 1]?.kind === 'deepWildcard';
    variables.push({ fieldPath, startSegment, endSegment: endsDeep ? -1 : segments.length });
  };

  readSegment(false);
  while (pos < template.length) {
    const c = template[pos];
    if (c === '/') {
      pos += 1;
      readSegment(false);
    } else if (c === ':') {
      verb = template.slice(pos + 1);
      if (verb === '' || verb.includes('/')) fail('the verb after the last ":" must be a non-empty literal');
      pos = template.length;
    } else {
      fail(`unexpected '${c}' at offset ${pos}`);
    }
  }

  const deep = segments.findIndex((s) => s.kind === 'deepWildcard');
  if (deep >= 0 && deep !== segments.length - 1) fail("'**' must be the last segment");
  const seen = new Set<string>();
  for (const v of variables) {
    const name = v.fieldPath.join('.');
    if (seen.has(name)) fail(`variable '${name}' appears twice`);
    seen.add(name);
  }
  return { segments, variables, verb };
}
