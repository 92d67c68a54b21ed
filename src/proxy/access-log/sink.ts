import { close as closeFd, openSync, write as writeFd } from 'node:fs';

/**
 * Where formatted lines go. Lines are buffered and written in batches (a size threshold or a short
 * timer, as Envoy's AccessLogFile does) so a request never waits on a write; close() flushes.
 */
export interface LogSink {
  write(line: string): void;
  /** Resolves once everything written so far has reached the file or stream. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface SinkOptions {
  /** Flush at the latest this long after the first buffered line (Envoy: 10 s; Isthmus: 1 s). */
  flushIntervalMs?: number;
  /** Flush as soon as this many characters are buffered (Envoy: 64 KiB). */
  flushBytes?: number;
}

type Output = (data: string) => Promise<void>;

class BufferedSink implements LogSink {
  private chunks: string[] = [];
  private size = 0;
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private reported = false;
  private readonly flushIntervalMs: number;
  private readonly flushBytes: number;

  constructor(
    private readonly label: string,
    private readonly output: Output,
    private readonly release: () => Promise<void>,
    options: SinkOptions,
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 1_000;
    this.flushBytes = options.flushBytes ?? 64 * 1024;
  }

  write(line: string): void {
    if (this.closing) return;
    this.chunks.push(line);
    this.size += line.length;
    if (this.size >= this.flushBytes) {
      void this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushIntervalMs);
      // A pending flush must not keep the process alive; close() flushes what is left.
      this.timer.unref();
    }
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.chunks.length === 0) return this.pending;
    const data = this.chunks.join('');
    this.chunks = [];
    this.size = 0;
    // One write at a time keeps lines in order.
    this.pending = this.pending.then(() => this.output(data)).catch((err: unknown) => this.report(err));
    return this.pending;
  }

  close(): Promise<void> {
    this.closing ??= this.flush().then(() => this.release());
    return this.closing;
  }

  private report(err: unknown): void {
    // Logging must never take the proxy down; say so once on stderr.
    if (this.reported) return;
    this.reported = true;
    process.stderr.write(`isthmus: access log ${this.label}: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}

function writeAll(fd: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (offset: number): void => {
      if (offset >= data.length) return resolve();
      writeFd(fd, data, offset, data.length - offset, null, (err, written) => (err ? reject(err) : step(offset + written)));
    };
    step(0);
  });
}

/** Appends to a file, opened now so a bad path fails at config time as it does in Envoy. */
export function fileSink(path: string, options: SinkOptions = {}): LogSink {
  const fd = openSync(path, 'a');
  return new BufferedSink(
    path,
    (data) => writeAll(fd, Buffer.from(data)),
    () => new Promise((resolve) => closeFd(fd, () => resolve())),
    options,
  );
}

/** Writes to the process's stdout or stderr (never closed: the process owns them). */
export function streamSink(stream: NodeJS.WriteStream, label: string, options: SinkOptions = {}): LogSink {
  return new BufferedSink(
    label,
    (data) => new Promise((resolve, reject) => stream.write(data, (err) => (err ? reject(err) : resolve()))),
    async () => undefined,
    options,
  );
}
