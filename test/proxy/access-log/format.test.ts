// Format strings against Envoy's documented output for known entries.
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  AccessLogConfigError,
  ENVOY_DEFAULT_FORMAT,
  ISTIO_DEFAULT_FORMAT,
  compileFormat,
  compileTextFormat,
  headerLookup,
} from '../../../src/proxy/access-log/index.js';
import { httpEntry, tcpEntry } from './fixtures.js';

describe('default formats', () => {
  it('prints Envoy\'s documented default line', () => {
    const line = compileFormat(ENVOY_DEFAULT_FORMAT)(httpEntry());
    expect(line).toBe(
      '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" ' +
        '"nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "10.0.2.1:80"\n',
    );
  });

  it('prints "-" for everything a TCP connection does not have, and response code 0', () => {
    const line = compileFormat(ENVOY_DEFAULT_FORMAT)(tcpEntry());
    expect(line).toBe('[2021-03-01T08:00:05.007Z] "- - -" 0 - 1023 2087 5000 - "-" "-" "-" "-" "10.0.0.2:443"\n');
  });

  it('prints Istio\'s default line with cluster, addresses, SNI and route', () => {
    const entry = httpEntry({ responseCode: 503, responseFlags: ['UF', 'URX'], responseCodeDetails: 'upstream_reset_before_response_started{connection_failure}', upstreamTransportFailureReason: 'TLS_error:|268435581:SSL_routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED' });
    expect(compileFormat(ISTIO_DEFAULT_FORMAT)(entry)).toBe(
      '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 503 UF,URX upstream_reset_before_response_started{connection_failure} - ' +
        '"TLS_error:|268435581:SSL_routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED" 154 0 226 100 "10.0.35.28" "nsq2http" ' +
        '"cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "10.0.2.1:80" locations 10.0.2.7:41234 10.0.0.5:443 10.0.35.28:51000 ' +
        'locations.example.com default\n',
    );
  });
});

describe('header operators', () => {
  it('uses the main header, then the alternative, and is case-insensitive', () => {
    const format = compileFormat('%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%');
    expect(format(httpEntry())).toBe('/api/v1/locations');
    const rewritten = httpEntry({ requestHeaders: headerLookup({ 'x-envoy-original-path': '/original' }, { ':path': '/rewritten' }) });
    expect(format(rewritten)).toBe('/original');
    expect(compileFormat('%REQ(User-Agent)%|%RESP(Content-Type)%|%TRAILER(GRPC-STATUS)%')(httpEntry())).toBe('nsq2http|application/json|0');
  });

  it('truncates to :LENGTH, including through the alternative header', () => {
    const entry = httpEntry();
    expect(compileFormat('%REQ(USER-AGENT):3%')(entry)).toBe('nsq');
    expect(compileFormat('%REQ(X-MISSING?X-REQUEST-ID):8%')(entry)).toBe('cc21d9b0');
    expect(compileFormat('%REQ(USER-AGENT):100%')(entry)).toBe('nsq2http');
  });

  it('logs the first value of a repeated header and an empty value as empty, a missing one as "-"', () => {
    expect(compileFormat('[%REQ(X-MULTI)%][%REQ(X-EMPTY)%][%REQ(X-MISSING)%][%RESP(X-MISSING?X-ALSO-MISSING)%]')(httpEntry())).toBe('[first][][-][-]');
  });

  it('takes :authority from Host when there is no pseudo-header (HTTP/1)', () => {
    const entry = httpEntry({ requestHeaders: headerLookup({ host: 'h1.example' }, { ':method': 'GET' }) });
    expect(compileFormat('%REQ(:AUTHORITY)% %REQ(:METHOD)% %REQ(:PATH)%')(entry)).toBe('h1.example GET -');
  });
});

describe('START_TIME', () => {
  const at = (format: string) => compileFormat(format)(httpEntry());

  it('formats strftime specifiers in UTC, with Envoy\'s %s', () => {
    expect(at('%START_TIME(%Y/%m/%dT%H:%M:%S%z %s)%')).toBe('2016/04/15T20:17:00+0000 1460751420');
    expect(at('%START_TIME(%a %A %b %B %d %e %j %y %I%p %F %T %D %R %%)%')).toBe('Fri Friday Apr April 15 15 106 16 08PM 2016-04-15 20:17:00 04/15/16 20:17 %');
  });

  it('formats %f and %[1-9]f fractions of a second', () => {
    expect(at('%START_TIME(%s.%3f)%')).toBe('1460751420.310');
    expect(at('%START_TIME(%s.%6f)%')).toBe('1460751420.310000');
    expect(at('%START_TIME(%s.%9f)%')).toBe('1460751420.310000000');
    expect(at('%START_TIME(%f)%')).toBe('310000000');
    expect(at('%START_TIME(%1f)%')).toBe('3');
    expect(at('%START_TIME(%Y-%m-%dT%H:%M:%S.%3fZ)%')).toBe('2016-04-15T20:17:00.310Z');
  });

  it('formats the absl %E forms Envoy passes through', () => {
    expect(at('%START_TIME(%H:%M:%E3S)%')).toBe('20:17:00.310');
    expect(at('%START_TIME(%E*S)%')).toBe('00.31');
    expect(at('%START_TIME(%Ez)%')).toBe('+00:00');
  });

  it('rejects a newline in the time format', () => {
    expect(() => compileFormat('%START_TIME(%Y%n)%')).toThrow(AccessLogConfigError);
  });
});

describe('stream info operators', () => {
  it('prints durations as whole milliseconds and "-" when unset', () => {
    expect(compileFormat('%DURATION% %REQUEST_DURATION% %RESPONSE_DURATION%')(httpEntry())).toBe('226 3 120');
    expect(compileFormat('%DURATION% %REQUEST_DURATION% %RESPONSE_DURATION%')(tcpEntry())).toBe('5000 - -');
  });

  it('prints response flags comma-joined, details and the TCP protocol as "-"', () => {
    const entry = httpEntry({ responseFlags: ['UH', 'UF'], responseCodeDetails: 'no_healthy_upstream' });
    expect(compileFormat('%RESPONSE_FLAGS% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS%')(entry)).toBe('UH,UF 204 no_healthy_upstream');
    expect(compileFormat('%PROTOCOL% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS% %ROUTE_NAME%')(tcpEntry())).toBe('- 0 - -');
  });

  it('prints addresses with and without ports, IPv6 without brackets', () => {
    const format = compileFormat('%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_PORT%');
    expect(format(httpEntry())).toBe('10.0.35.28:51000 10.0.35.28 10.0.0.5:443 10.0.0.5 443');
    expect(format(tcpEntry())).toBe('[2001:db8::1]:50312 2001:db8::1 [2001:db8::2]:15443 2001:db8::2 15443');
    expect(compileFormat('%UPSTREAM_HOST% %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS%')(tcpEntry())).toBe('10.0.0.2:443 outbound|443||db.example.com -');
  });

  it('prints TLS facts: SNI, peer and local URI SANs, TLS version', () => {
    const format = compileFormat('%REQUESTED_SERVER_NAME% %DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_LOCAL_URI_SAN% %DOWNSTREAM_TLS_VERSION%');
    expect(format(httpEntry())).toBe('locations.example.com spiffe://cluster.local/ns/default/sa/nsq,spiffe://other/sa spiffe://cluster.local/ns/default/sa/locations TLSv1.3');
    expect(format(tcpEntry())).toBe('- - - -');
  });

  it('prints connection id, hostname, transport failure reason and environment variables', () => {
    process.env.ISTHMUS_TEST_POD = 'pod-1';
    expect(compileFormat('%CONNECTION_ID% %HOSTNAME% %UPSTREAM_TRANSPORT_FAILURE_REASON% %ENVIRONMENT(ISTHMUS_TEST_POD)% %ENVIRONMENT(ISTHMUS_TEST_UNSET)%')(httpEntry())).toBe(
      `42 ${hostname()} - pod-1 -`,
    );
  });

  it('prints "" for unset values with omit_empty_values', () => {
    expect(compileTextFormat('[%UPSTREAM_TRANSPORT_FAILURE_REASON%][%REQ(X-MISSING)%][%BYTES_SENT%]', { omitEmptyValues: true })(httpEntry())).toBe('[][][0]');
  });
});

describe('config errors', () => {
  it('names an unknown operator', () => {
    expect(() => compileFormat('[%START_TIME%] %NOT_AN_OPERATOR%')).toThrow(/%NOT_AN_OPERATOR%/);
    expect(() => compileFormat('%NOT_AN_OPERATOR%')).toThrow(AccessLogConfigError);
  });

  it('rejects malformed commands with the position', () => {
    expect(() => compileFormat('100% sure')).toThrow(/position 3/);
    expect(() => compileFormat('%lower%')).toThrow(/position 0/);
    expect(() => compileFormat('%REQ(USER-AGENT)')).toThrow(/position 0/);
  });

  it('rejects missing, extra and doubled parameters', () => {
    expect(() => compileFormat('%REQ%')).toThrow(/needs a parameter/);
    expect(() => compileFormat('%PROTOCOL(X)%')).toThrow(/takes no parameter/);
    expect(() => compileFormat('%REQ(A?B?C)%')).toThrow(/more than 1 alternative/);
  });

  it('accepts a format without operators and an empty format', () => {
    expect(compileFormat('plain text\n')(httpEntry())).toBe('plain text\n');
    expect(compileFormat('')(httpEntry())).toBe('');
  });
});

describe('peer-controlled values in text logs (CVE-2024-45808)', () => {
  it('escapes control characters (C0, DEL, C1), quotes and backslashes; literal text stays as written', () => {
    const entry = httpEntry({ requestHeaders: headerLookup({ 'user-agent': 'a\nb\rc\td\u0000e\u007ff\u0085g"h\\i' }, {}) });
    expect(compileFormat('"%REQ(USER-AGENT)%"\n')(entry)).toBe('"a\\nb\\rc\\td\\x00e\\x7ff\\x85g\\"h\\\\i"\n');
  });

  it('logs an SNI that is not a host name as Envoy does: "invalid:" and "_" for every other character', () => {
    const format = compileFormat('%REQUESTED_SERVER_NAME%');
    expect(format(httpEntry({ requestedServerName: 'a.b\n"c d' }))).toBe('invalid:a.b__c_d');
    expect(format(httpEntry({ requestedServerName: 'outbound_.8080_._.reviews.default.svc.cluster.local' }))).toBe('outbound_.8080_._.reviews.default.svc.cluster.local');
  });
});
