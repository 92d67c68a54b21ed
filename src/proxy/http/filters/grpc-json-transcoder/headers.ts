/** Small helpers over the filter contract's HeaderMap (lower-case names, string or string[] values). */
import type { HeaderMap } from '../../filter.js';

export function firstHeader(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** application/grpc and application/grpc+proto etc., but not application/grpc-web (Envoy's hasGrpcContentType). */
export function isGrpcContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const value = contentType.toLowerCase();
  if (!value.startsWith('application/grpc')) return false;
  const next = value.charAt('application/grpc'.length);
  return next === '' || next === '+' || next === ';';
}
