/** "10.0.0.1:80" / "[::1]:80" -> Envoy's Address JSON ({socket_address: {address, port_value}}). */
export function socketAddressJson(hostPort: string): { socket_address: { address: string; port_value?: number } } {
  const colon = hostPort.lastIndexOf(':');
  const bareV6 = hostPort.indexOf(':') !== colon && !hostPort.startsWith('[');
  if (colon < 0 || bareV6) return { socket_address: { address: hostPort } };
  let address = hostPort.slice(0, colon);
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const port = Number(hostPort.slice(colon + 1));
  // proto3 JSON leaves out zero values.
  return { socket_address: { address, ...(port ? { port_value: port } : {}) } };
}
