import { hostname } from 'node:os';
import type { AccessLogEntry } from './entry.js';
import { AccessLogConfigError } from './errors.js';
import { compileTimeFormat } from './strftime.js';
import { sanitizeServerName } from '../listener/server-name.js';

/**
 * Envoy's command operators (%NAME(ARG):LEN%), each compiled once into a function of the entry.
 * undefined means "not set": text formats print "-", typed JSON prints null. Numeric operators
 * return numbers so typed JSON renders them as JSON numbers, as Envoy does.
 */
export type OperatorValue = string | number | undefined;
export type Operator = (entry: AccessLogEntry) => OperatorValue;

const OPERATORS_DOC = 'see https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage#command-operators';

const nonEmpty = (value: string | undefined): string | undefined => (value ? value : undefined);
const millis = (value: number | undefined): number | undefined => (value === undefined ? undefined : Math.floor(value));

/** "10.0.0.1:80" -> ["10.0.0.1", "80"]; "[::1]:80" -> ["::1", "80"]. */
function splitAddress(address: string | undefined): [string, string] | undefined {
  if (!address) return undefined;
  const colon = address.lastIndexOf(':');
  // No port: a bare IPv4/name, or an unbracketed IPv6 address.
  const bareV6 = address.indexOf(':') !== colon && !address.startsWith('[');
  if (colon < 0 || bareV6) return [address, ''];
  const host = address.slice(0, colon);
  return [host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, address.slice(colon + 1)];
}
const withoutPort = (address: string | undefined): string | undefined => splitAddress(address)?.[0];
const justPort = (address: string | undefined): string | undefined => nonEmpty(splitAddress(address)?.[1]);

const sans = (value: string | readonly string[] | undefined): string | undefined =>
  nonEmpty(typeof value === 'string' ? value : value?.join(','));

/** Operators that take no parameter. */
const SIMPLE: Record<string, Operator> = {
  PROTOCOL: (e) => e.protocol,
  RESPONSE_CODE: (e) => e.responseCode,
  RESPONSE_CODE_DETAILS: (e) => nonEmpty(e.responseCodeDetails),
  CONNECTION_TERMINATION_DETAILS: (e) => nonEmpty(e.connectionTerminationDetails),
  RESPONSE_FLAGS: (e) => (e.responseFlags.length ? e.responseFlags.join(',') : undefined),
  BYTES_RECEIVED: (e) => e.bytesReceived,
  BYTES_SENT: (e) => e.bytesSent,
  DURATION: (e) => millis(e.durationMs),
  REQUEST_DURATION: (e) => millis(e.requestDurationMs),
  RESPONSE_DURATION: (e) => millis(e.responseDurationMs),
  UPSTREAM_HOST: (e) => nonEmpty(e.upstreamHost),
  UPSTREAM_REMOTE_ADDRESS: (e) => nonEmpty(e.upstreamHost),
  UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.upstreamHost),
  UPSTREAM_REMOTE_PORT: (e) => justPort(e.upstreamHost),
  UPSTREAM_CLUSTER: (e) => nonEmpty(e.upstreamCluster),
  UPSTREAM_CLUSTER_RAW: (e) => nonEmpty(e.upstreamCluster),
  UPSTREAM_LOCAL_ADDRESS: (e) => nonEmpty(e.upstreamLocalAddress),
  UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.upstreamLocalAddress),
  UPSTREAM_LOCAL_PORT: (e) => justPort(e.upstreamLocalAddress),
  UPSTREAM_TRANSPORT_FAILURE_REASON: (e) => nonEmpty(e.upstreamTransportFailureReason),
  DOWNSTREAM_REMOTE_ADDRESS: (e) => nonEmpty(e.downstreamRemoteAddress),
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.downstreamRemoteAddress),
  DOWNSTREAM_REMOTE_PORT: (e) => justPort(e.downstreamRemoteAddress),
  // Isthmus does not rewrite the remote address from XFF or PROXY protocol, so direct == remote.
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: (e) => nonEmpty(e.downstreamRemoteAddress),
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.downstreamRemoteAddress),
  DOWNSTREAM_DIRECT_REMOTE_PORT: (e) => justPort(e.downstreamRemoteAddress),
  DOWNSTREAM_LOCAL_ADDRESS: (e) => nonEmpty(e.downstreamLocalAddress),
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (e) => withoutPort(e.downstreamLocalAddress),
  DOWNSTREAM_LOCAL_PORT: (e) => justPort(e.downstreamLocalAddress),
  REQUESTED_SERVER_NAME: (e) => (e.requestedServerName ? sanitizeServerName(e.requestedServerName) : undefined),
  ROUTE_NAME: (e) => nonEmpty(e.routeName),
  DOWNSTREAM_PEER_URI_SAN: (e) => sans(e.downstreamPeerUriSan),
  DOWNSTREAM_LOCAL_URI_SAN: (e) => sans(e.downstreamLocalUriSan),
  DOWNSTREAM_TLS_VERSION: (e) => nonEmpty(e.downstreamTlsVersion),
  CONNECTION_ID: (e) => e.connectionId,
};

/** %REQ(X?Y)%: header X, else header Y (one alternative at most, as Envoy allows). */
function headerOperator(token: string, arg: string, pick: (e: AccessLogEntry) => (name: string) => string | undefined): Operator {
  const names = arg.split('?');
  if (names.length > 2) throw new AccessLogConfigError(`more than 1 alternative header specified in access log command %${token}%`, 'use %REQ(MAIN?ALTERNATIVE)% with one alternative');
  const [main, alternative] = names.map((n) => n.trim().toLowerCase()) as [string, string | undefined];
  if (!main) throw new AccessLogConfigError(`access log command %${token}% names no header`);
  return (e) => {
    const lookup = pick(e);
    const value = lookup(main);
    return value !== undefined || !alternative ? value : lookup(alternative);
  };
}

function startTimeOperator(arg: string | undefined): Operator {
  // Envoy's default START_TIME is ISO 8601 with milliseconds in UTC, which is toISOString().
  if (!arg) return (e) => e.startTime.toISOString();
  if (/%[-_0^#]*[1-9]*[EO]?n/.test(arg)) throw new AccessLogConfigError(`START_TIME format "${arg}" contains a newline`);
  const format = compileTimeFormat(arg);
  return (e) => format(e.startTime);
}

const HOST = hostname();

/**
 * Compiles one command operator. `command` is the upper-case name, `arg` the text inside the
 * parentheses (undefined without them). Throws AccessLogConfigError for an unknown operator.
 */
export function compileOperator(command: string, arg: string | undefined): Operator {
  const token = arg === undefined ? command : `${command}(${arg})`;
  const needsArg = (): string => {
    if (arg === undefined) throw new AccessLogConfigError(`access log command %${command}% needs a parameter, e.g. %${command}(X)%`);
    return arg;
  };
  switch (command) {
    case 'REQ':
      return headerOperator(token, needsArg(), (e) => e.requestHeaders);
    case 'RESP':
      return headerOperator(token, needsArg(), (e) => e.responseHeaders);
    case 'TRAILER':
      return headerOperator(token, needsArg(), (e) => e.responseTrailers);
    case 'START_TIME':
      return startTimeOperator(arg);
    case 'ENVIRONMENT': {
      const value = nonEmpty(process.env[needsArg()]);
      return () => value;
    }
    case 'HOSTNAME':
      if (arg !== undefined) break;
      return () => HOST;
  }
  const simple = SIMPLE[command];
  if (!simple) {
    throw new AccessLogConfigError(`unknown access log command operator %${command}%`, `Isthmus supports ${[...Object.keys(SIMPLE), 'REQ', 'RESP', 'TRAILER', 'START_TIME', 'ENVIRONMENT', 'HOSTNAME'].sort().join(', ')}; ${OPERATORS_DOC}`);
  }
  if (arg !== undefined) throw new AccessLogConfigError(`access log command %${command}% takes no parameter, got %${token}%`);
  return simple;
}
