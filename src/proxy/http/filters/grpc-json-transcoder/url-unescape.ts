/**
 * Percent-decoding for path variables and query parameters, as Envoy's transcoder does by default
 * (url_unescape_spec ALL_CHARACTERS_EXCEPT_RESERVED for the path; everything for query values).
 */

// RFC 6570 reserved characters stay escaped in path variables, so "%2F" never turns into a separator.
const RESERVED = new Set([...":/?#[]@!$&'()*+,;="].map((c) => c.charCodeAt(0)));

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

function unescape(raw: string, keepReserved: boolean, plusAsSpace: boolean): string {
  if (!raw.includes('%') && !(plusAsSpace && raw.includes('+'))) return raw;
  const input = Buffer.from(raw, 'utf8');
  const out = Buffer.allocUnsafe(input.length);
  let n = 0;
  for (let i = 0; i < input.length; i++) {
    const b = input[i] as number;
    if (b === 0x25 && i + 2 < input.length) {
      const hi = hexValue(input[i + 1] as number);
      const lo = hexValue(input[i + 2] as number);
      const decoded = hi * 16 + lo;
      if (hi >= 0 && lo >= 0 && !(keepReserved && RESERVED.has(decoded))) {
        out[n++] = decoded;
        i += 2;
        continue;
      }
    }
    out[n++] = plusAsSpace && b === 0x2b ? 0x20 : b;
  }
  return out.subarray(0, n).toString('utf8');
}

/** Decodes a path variable's value, leaving reserved characters percent-encoded. */
export function unescapePathValue(raw: string): string {
  return unescape(raw, true, false);
}

/** Decodes a query parameter value; '+' becomes a space only when query_param_unescape_plus is set. */
export function unescapeQueryValue(raw: string, plusAsSpace: boolean): string {
  return unescape(raw, false, plusAsSpace);
}
