/**
 * HTTP/1.1 request targets (RFC 9112 3.2): origin form (`/path?q`) as usual, and absolute form
 * (`http://host:port/path?q`), which clients send to a proxy they were told to use (http_proxy=...).
 * Envoy, with http_protocol_options.allow_absolute_url (its default), takes :authority and :scheme from
 * an absolute URL and forwards the request in origin form.
 */
export interface AbsoluteTarget {
  readonly scheme: 'http' | 'https';
  /** host[:port] as written in the URL: what the Host header would carry. */
  readonly authority: string;
  /** The origin form: path and query, "/" when the URL has no path. */
  readonly path: string;
}

const ABSOLUTE = /^(https?):\/\/([^/?#]+)([^#]*)/i;

/** The parts of an absolute-form target; undefined for origin form, "*" and anything else. */
export function parseAbsoluteTarget(target: string | undefined): AbsoluteTarget | undefined {
  if (!target || target.charCodeAt(0) === 47 /* '/' */) return undefined;
  const m = ABSOLUTE.exec(target);
  if (!m) return undefined;
  const authority = (m[2] ?? '').replace(/^[^@]*@/, ''); // userinfo is not part of the authority forwarded
  if (!authority) return undefined;
  const rest = m[3] ?? '';
  return { scheme: (m[1] ?? 'http').toLowerCase() as 'http' | 'https', authority, path: rest.startsWith('/') ? rest : `/${rest}` };
}
