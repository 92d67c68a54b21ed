/** Istio's port protocols: explicit, or inferred from the port name prefix ("http-web", "grpc"). */

const KNOWN = ['HTTP', 'HTTP2', 'HTTP_PROXY', 'GRPC', 'GRPC-WEB', 'HTTPS', 'TLS', 'TCP', 'UDP', 'MONGO', 'MYSQL', 'REDIS'];

export function parseProtocol(protocol: string | undefined, portName?: string): string {
  if (protocol) return protocol.toUpperCase();
  const prefix = (portName ?? '').split('-')[0]?.toUpperCase() ?? '';
  if (KNOWN.includes(prefix)) return prefix;
  return 'UNSUPPORTED';
}

export function isHttpProtocol(protocol: string): boolean {
  return ['HTTP', 'HTTP2', 'HTTP_PROXY', 'GRPC', 'GRPC-WEB'].includes(protocol);
}

/** Protocols whose upstream connections are HTTP/2 (Istio's IsHTTP2). */
export function isHttp2Protocol(protocol: string): boolean {
  return ['HTTP2', 'GRPC', 'GRPC-WEB'].includes(protocol);
}

export function isTlsProtocol(protocol: string): boolean {
  return protocol === 'HTTPS' || protocol === 'TLS';
}
