import type { AdminResponse } from './types.js';

export function text(status: number, body: string): AdminResponse {
  return { status, contentType: 'text', body };
}

/** JSON pretty-printed with one-space indents, as Envoy's proto JSON printer does. */
export function json(status: number, value: unknown): AdminResponse {
  return { status, contentType: 'json', body: `${JSON.stringify(value, null, 1)}\n` };
}

/** ?format=json selects JSON; anything else (or nothing) the text form. */
export function wantsJson(query: URLSearchParams): boolean {
  return query.get('format') === 'json';
}
