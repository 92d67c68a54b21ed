/**
 * SNI is a host name (RFC 6066 3): letters, digits, hyphens and dots, at most 255 bytes. Underscores
 * are accepted too, because Istio's own SNIs have them (outbound_.8080_._.reviews.default.svc...).
 */
const HOST_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/;
const MAX_SERVER_NAME = 255;

export function validServerName(name: string): boolean {
  return name.length <= MAX_SERVER_NAME && HOST_NAME.test(name);
}

/**
 * Envoy's StringUtil::sanitizeInvalidHostname for %REQUESTED_SERVER_NAME%: a name that is not a host
 * name is logged as "invalid:" with every other character replaced by "_", so it cannot add fields
 * or lines to an access log (CVE-2024-45808).
 */
export function sanitizeServerName(name: string): string {
  if (validServerName(name)) return name;
  return `invalid:${name.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}
