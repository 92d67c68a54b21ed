// Access loggers from Envoy config: buffered file writes, formats, stdout/stderr, config errors.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../../src/envoy/index.js';
import type { AccessLogConfig } from '../../../src/envoy/index.js';
import { AccessLogConfigError, createAccessLoggers, createAdminAccessLoggers } from '../../../src/proxy/access-log/index.js';
import { PROJECT_ROOT, run, tempDir } from '../../helpers/index.js';
import { httpEntry, tcpEntry } from './fixtures.js';

let work: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  work = await tempDir('access-log');
});
afterAll(async () => {
  await work.cleanup();
});

const fileLog = (path: string, extra: Record<string, unknown> = {}): AccessLogConfig => ({
  name: 'envoy.access_loggers.file',
  typed_config: { '@type': TYPE_URL.fileAccessLog, path, ...extra },
});

async function waitForContent(path: string, timeoutMs = 5_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(path, 'utf8');
    if (text || Date.now() > deadline) return text;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('file access log', () => {
  it('buffers lines instead of writing per request, and writes them in order on close()', async () => {
    const path = join(work.dir, 'buffered.log');
    const [logger] = createAccessLoggers([fileLog(path, { log_format: { text_format: '%RESPONSE_CODE% %CONNECTION_ID%\n' } })], work.dir);
    // Opened at config time, as Envoy does, so a bad path is a config error.
    expect(existsSync(path)).toBe(true);
    for (let i = 0; i < 100; i++) logger?.log(httpEntry({ connectionId: i }));
    expect(await readFile(path, 'utf8')).toBe('');
    await logger?.close();
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines).toHaveLength(101);
    expect(lines.slice(0, 3)).toStrictEqual(['204 0', '204 1', '204 2']);
    expect(lines[99]).toBe('204 99');
    expect(lines[100]).toBe('');
  });

  it('appends to an existing file, resolving a relative path against the base directory', async () => {
    await writeFile(join(work.dir, 'relative.log'), 'earlier line\n');
    const [logger] = createAccessLoggers([fileLog('relative.log', { log_format: { text_format: '%PROTOCOL%\n' } })], work.dir);
    logger?.log(httpEntry());
    await logger?.close();
    expect(await readFile(join(work.dir, 'relative.log'), 'utf8')).toBe('earlier line\nHTTP/2\n');
  });

  it('writes without close() once the buffer passes the size threshold or the flush timer fires', async () => {
    const bySize = join(work.dir, 'by-size.log');
    const [sized] = createAccessLoggers([fileLog(bySize, { log_format: { text_format: '0123456789\n' } })], work.dir, { flushBytes: 50, flushIntervalMs: 60_000 });
    for (let i = 0; i < 5; i++) sized?.log(httpEntry());
    expect(await waitForContent(bySize)).toBe('0123456789\n'.repeat(5));

    const byTime = join(work.dir, 'by-time.log');
    const [timed] = createAccessLoggers([fileLog(byTime, { log_format: { text_format: 'tick\n' } })], work.dir, { flushIntervalMs: 30 });
    timed?.log(httpEntry());
    expect(await waitForContent(byTime)).toBe('tick\n');
    await Promise.all([sized?.close(), timed?.close()]);
  });

  it('flush() writes what was logged so far and keeps the file open', async () => {
    const path = join(work.dir, 'flushed.log');
    const [logger] = createAccessLoggers([fileLog(path, { log_format: { text_format: '%BYTES_RECEIVED%\n' } })], work.dir);
    logger?.log(httpEntry());
    await logger?.flush();
    expect(await readFile(path, 'utf8')).toBe('154\n');
    logger?.log(tcpEntry());
    await logger?.close();
    await logger?.close(); // idempotent
    logger?.log(httpEntry()); // dropped once closed
    await logger?.flush();
    expect(await readFile(path, 'utf8')).toBe('154\n1023\n');
  });

  it('uses Envoy\'s default format when no format is configured', async () => {
    const path = join(work.dir, 'default.log');
    const [logger] = createAccessLoggers([fileLog(path)], work.dir);
    logger?.log(httpEntry());
    await logger?.close();
    expect(await readFile(path, 'utf8')).toBe(
      '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "10.0.2.1:80"\n',
    );
  });

  it('writes typed JSON lines for log_format.json_format and string JSON for the legacy json_format', async () => {
    const typed = join(work.dir, 'typed.jsonl');
    const legacy = join(work.dir, 'legacy.jsonl');
    const loggers = createAccessLoggers(
      [
        fileLog(typed, { log_format: { json_format: { code: '%RESPONSE_CODE%', host: '%UPSTREAM_HOST%', sni: '%REQUESTED_SERVER_NAME%' } } }),
        fileLog(legacy, { json_format: { code: '%RESPONSE_CODE%', sni: '%REQUESTED_SERVER_NAME%' } }),
      ],
      work.dir,
    );
    for (const logger of loggers) {
      logger.log(httpEntry());
      logger.log(tcpEntry());
    }
    await Promise.all(loggers.map((l) => l.close()));
    const typedLines = (await readFile(typed, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(typedLines).toStrictEqual([
      { code: 204, host: '10.0.2.1:80', sni: 'locations.example.com' },
      { code: 0, host: '10.0.0.2:443', sni: null },
    ]);
    const legacyLines = (await readFile(legacy, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(legacyLines).toStrictEqual([
      { code: '204', sni: 'locations.example.com' },
      { code: '0', sni: '-' },
    ]);
  });

  it('reads text_format_source from a file relative to the base directory, the legacy format, and omit_empty_values', async () => {
    await mkdir(join(work.dir, 'formats'), { recursive: true });
    await writeFile(join(work.dir, 'formats', 'line.txt'), '%ROUTE_NAME%|%UPSTREAM_TRANSPORT_FAILURE_REASON%\n');
    const path = join(work.dir, 'sources.log');
    const loggers = createAccessLoggers(
      [
        fileLog(path, { log_format: { text_format_source: { filename: 'formats/line.txt' } } }),
        fileLog(path, { log_format: { text_format_source: { inline_string: 'inline %RESPONSE_CODE%\n' } } }),
        fileLog(path, { format: 'legacy %PROTOCOL%\n' }),
        fileLog(path, { log_format: { text_format: 'omit [%ROUTE_NAME%]\n', omit_empty_values: true } }),
      ],
      work.dir,
    );
    for (const logger of loggers) {
      logger.log(tcpEntry());
      await logger.close();
    }
    expect(await readFile(path, 'utf8')).toBe('-|-\ninline 0\nlegacy -\nomit []\n');
  });

  it('adds the admin access_log_path as a default-format file log', async () => {
    const path = join(work.dir, 'admin.log');
    const loggers = createAdminAccessLoggers({ access_log_path: path }, work.dir);
    expect(loggers).toHaveLength(1);
    loggers[0]?.log(tcpEntry());
    await loggers[0]?.close();
    expect(await readFile(path, 'utf8')).toMatch(/^\[2021-03-01T08:00:05\.007Z\] "- - -" 0 - 1023 2087 5000 /);
  });
});

describe('config errors', () => {
  it('rejects an unknown access logger type, naming it', () => {
    const config: AccessLogConfig = { name: 'envoy.access_loggers.http_grpc', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig' } };
    expect(() => createAccessLoggers([config], work.dir)).toThrow(/HttpGrpcAccessLogConfig/);
    expect(() => createAccessLoggers([{ name: 'no.such.logger' }], work.dir)).toThrow(AccessLogConfigError);
  });

  it('rejects a file log without a path or in a missing directory', () => {
    expect(() => createAccessLoggers([{ name: 'envoy.access_loggers.file', typed_config: { '@type': TYPE_URL.fileAccessLog } }], work.dir)).toThrow(/path is required/);
    expect(() => createAccessLoggers([fileLog(join(work.dir, 'missing', 'dir', 'x.log'))], work.dir)).toThrow(/cannot open access log file/);
  });

  it('rejects a bad format before opening the file, and two formats at once', () => {
    const path = join(work.dir, 'never-created.log');
    expect(() => createAccessLoggers([fileLog(path, { log_format: { text_format: '%NOPE%' } })], work.dir)).toThrow(/%NOPE%/);
    expect(existsSync(path)).toBe(false);
    expect(() => createAccessLoggers([fileLog(path, { format: 'a', log_format: { text_format: 'b' } })], work.dir)).toThrow(/only one access log format/);
  });

  it('returns no loggers for no config', () => {
    expect(createAccessLoggers(undefined, work.dir)).toStrictEqual([]);
  });
});

describe('stdout and stderr', () => {
  it('writes to the process streams for the stdout/stderr loggers and the /dev/stdout, /dev/stderr paths', async () => {
    // A real process, so the lines go through its own stdout and stderr (dist/ is built by the global setup).
    const accessLog = join(PROJECT_ROOT, 'dist', 'proxy', 'access-log', 'index.js');
    expect(existsSync(accessLog)).toBe(true);
    const script = `
      const { createAccessLoggers, NO_HEADERS } = await import(${JSON.stringify(accessLog)});
      const fmt = (f) => ({ log_format: { text_format: f } });
      const loggers = createAccessLoggers([
        { name: 'envoy.access_loggers.stdout', typed_config: { '@type': ${JSON.stringify(TYPE_URL.stdoutAccessLog)}, ...fmt('stdout-logger %RESPONSE_CODE%\\n') } },
        { name: 'envoy.access_loggers.stderr', typed_config: { '@type': ${JSON.stringify(TYPE_URL.stderrAccessLog)}, ...fmt('stderr-logger %BYTES_SENT%\\n') } },
        { name: 'envoy.access_loggers.file', typed_config: { '@type': ${JSON.stringify(TYPE_URL.fileAccessLog)}, path: '/dev/stdout', ...fmt('dev-stdout %CONNECTION_ID%\\n') } },
        { name: 'envoy.access_loggers.file', typed_config: { '@type': ${JSON.stringify(TYPE_URL.fileAccessLog)}, path: '/dev/stderr', ...fmt('dev-stderr %DURATION%\\n') } },
        { name: 'envoy.access_loggers.stdout' },
      ], process.cwd());
      const entry = { startTime: new Date(0), durationMs: 12, requestHeaders: NO_HEADERS, responseHeaders: NO_HEADERS, responseTrailers: NO_HEADERS,
        responseCode: 0, responseFlags: [], bytesReceived: 1, bytesSent: 2, downstreamRemoteAddress: '127.0.0.1:1', downstreamLocalAddress: '127.0.0.1:2', connectionId: 3 };
      for (const l of loggers) l.log(entry);
      await Promise.all(loggers.map((l) => l.close()));
    `;
    const result = await run(process.execPath, ['--input-type=module', '-e', script]);
    expect(result.stderr.split('\n').sort()).toStrictEqual(['', 'dev-stderr 12', 'stderr-logger 2']);
    expect(result.stdout.split('\n').sort()).toStrictEqual(['', '[1970-01-01T00:00:00.000Z] "- - -" 0 - 1 2 12 - "-" "-" "-" "-" "-"', 'dev-stdout 3', 'stdout-logger 0']);
    expect(result.code).toBe(0);
  });
});
