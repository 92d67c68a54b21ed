import { resolve } from 'node:path';
import { TYPE_URL, TYPE_URL_BY_EXTENSION_NAME } from '../../envoy/index.js';
import type { AccessLogConfig, Admin, DataSource, SubstitutionFormatString } from '../../envoy/index.js';
import type { AccessLogEntry } from './entry.js';
import { AccessLogConfigError } from './errors.js';
import { DataSourceError, readDataSource as readSharedDataSource } from '../tls/data-source.js';
import { ENVOY_DEFAULT_FORMAT, compileTextFormat } from './format.js';
import { compileJsonFormat } from './json-format.js';
import { fileSink, streamSink } from './sink.js';
import type { LogSink, SinkOptions } from './sink.js';

/** One configured access log (Envoy's AccessLog instance). */
export interface AccessLogger {
  log(entry: AccessLogEntry): void;
  /** Resolves once every line logged so far is written. */
  flush(): Promise<void>;
  /** Flushes and releases the file. */
  close(): Promise<void>;
}

export type AccessLoggerOptions = SinkOptions;

type Formatter = (entry: AccessLogEntry) => string;

function readDataSource(source: DataSource, baseDir: string, what: string): string {
  try {
    return readSharedDataSource(source, baseDir, what).toString('utf8');
  } catch (err) {
    if (err instanceof DataSourceError) throw new AccessLogConfigError(err.message, undefined, err);
    throw err;
  }
}

function substitutionFormatter(format: SubstitutionFormatString & { json_format_options?: { sort_properties?: boolean } }, baseDir: string, what: string): Formatter {
  const omitEmptyValues = format.omit_empty_values === true;
  if (format.json_format !== undefined) {
    return compileJsonFormat(format.json_format, { typed: true, omitEmptyValues, sortProperties: format.json_format_options?.sort_properties === true });
  }
  if (format.text_format !== undefined) return compileTextFormat(format.text_format, { omitEmptyValues });
  if (format.text_format_source !== undefined) {
    return compileTextFormat(readDataSource(format.text_format_source, baseDir, `${what}.text_format_source`), { omitEmptyValues });
  }
  return compileTextFormat(ENVOY_DEFAULT_FORMAT, { omitEmptyValues });
}

/** The formatter of a file/stdout/stderr logger: log_format, or the deprecated format / json_format. */
function formatterOf(config: Record<string, unknown>, baseDir: string, what: string): Formatter {
  const set = ['log_format', 'format', 'json_format'].filter((k) => config[k] !== undefined);
  if (set.length > 1) throw new AccessLogConfigError(`${what} sets ${set.join(' and ')}; only one access log format may be specified`);
  if (config.log_format !== undefined) return substitutionFormatter(config.log_format as SubstitutionFormatString, baseDir, `${what}.log_format`);
  if (typeof config.format === 'string') return compileTextFormat(config.format);
  if (config.json_format !== undefined) return compileJsonFormat(config.json_format as Record<string, unknown>, { typed: false });
  return compileTextFormat(ENVOY_DEFAULT_FORMAT);
}

function sinkOf(typeUrl: string, config: Record<string, unknown>, baseDir: string, what: string, options: SinkOptions): LogSink {
  switch (typeUrl) {
    case TYPE_URL.fileAccessLog: {
      const path = config.path;
      if (typeof path !== 'string' || path === '') throw new AccessLogConfigError(`${what}.path is required for a file access log`);
      // Envoy treats these as the process's own streams.
      if (path === '/dev/stdout') return streamSink(process.stdout, path, options);
      if (path === '/dev/stderr') return streamSink(process.stderr, path, options);
      const file = resolve(baseDir, path);
      try {
        return fileSink(file, options);
      } catch (err) {
        throw new AccessLogConfigError(`${what}: cannot open access log file ${file}: ${(err as Error).message}`, 'check that the directory exists and is writable', err);
      }
    }
    case TYPE_URL.stdoutAccessLog:
      return streamSink(process.stdout, 'stdout', options);
    case TYPE_URL.stderrAccessLog:
      return streamSink(process.stderr, 'stderr', options);
    default:
      throw new AccessLogConfigError(
        `${what} has unsupported type ${typeUrl}`,
        'use envoy.access_loggers.file (FileAccessLog), envoy.access_loggers.stdout or envoy.access_loggers.stderr',
      );
  }
}

/** Builds one access logger from its config; throws AccessLogConfigError on a bad config. */
export function createAccessLogger(config: AccessLogConfig, baseDir: string, options: AccessLoggerOptions = {}, what = `access_log "${config.name}"`): AccessLogger {
  const typeUrl = config.typed_config?.['@type'] ?? TYPE_URL_BY_EXTENSION_NAME[config.name];
  if (!typeUrl) throw new AccessLogConfigError(`${what} has no typed_config and "${config.name}" is not a known access logger`);
  const typed: Record<string, unknown> = config.typed_config ?? {};
  // Compile the format before opening the file, so a bad format leaves nothing open.
  const format = formatterOf(typed, baseDir, `${what}.typed_config`);
  const sink = sinkOf(typeUrl, typed, baseDir, `${what}.typed_config`, options);
  return {
    log: (entry) => sink.write(format(entry)),
    flush: () => sink.flush(),
    close: () => sink.close(),
  };
}

/**
 * Builds the access loggers of an HTTP connection manager, tcp_proxy or admin config. Relative file
 * paths resolve against `baseDir` (the directory of the bootstrap file). All or nothing: if one
 * config is bad, the loggers already opened are closed and the error is thrown.
 */
export function createAccessLoggers(configs: readonly AccessLogConfig[] | undefined, baseDir: string, options: AccessLoggerOptions = {}): AccessLogger[] {
  const loggers: AccessLogger[] = [];
  try {
    (configs ?? []).forEach((config, i) => loggers.push(createAccessLogger(config, baseDir, options, `access_log[${i}] ("${config.name}")`)));
  } catch (err) {
    for (const logger of loggers) void logger.close();
    throw err;
  }
  return loggers;
}

/** The admin interface's loggers: admin.access_log plus the deprecated admin.access_log_path (default format). */
export function createAdminAccessLoggers(admin: Admin | undefined, baseDir: string, options: AccessLoggerOptions = {}): AccessLogger[] {
  const configs: AccessLogConfig[] = [...(admin?.access_log ?? [])];
  if (admin?.access_log_path) {
    configs.push({ name: 'envoy.access_loggers.file', typed_config: { '@type': TYPE_URL.fileAccessLog, path: admin.access_log_path } });
  }
  return createAccessLoggers(configs, baseDir, options);
}

/** Fans one entry out to several loggers (an HCM usually has one or two). */
export function logToAll(loggers: readonly AccessLogger[], entry: AccessLogEntry): void {
  for (const logger of loggers) logger.log(entry);
}
