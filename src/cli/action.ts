import type { Command } from 'commander';
import { errorMessage, formatData, parseOutputFormat } from '../common/index.js';
import type { OutputFormat } from '../common/index.js';

/** The output format chosen with the global -o/--output flag. */
export function outputFormat(command: Command): OutputFormat {
  return parseOutputFormat(command.optsWithGlobals<{ output?: string }>().output);
}

/** Prints data as JSON/YAML when asked, otherwise through the given human formatter. */
export function emit(command: Command, data: unknown, human: () => string): void {
  const format = outputFormat(command);
  process.stdout.write(format === 'table' ? human() : formatData(data, format));
}

/**
 * Wraps a command's action: errors print what went wrong and how to fix it, on stderr, and exit 1.
 */
export function action<Args extends unknown[]>(fn: (...args: Args) => Promise<void> | void): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    try {
      await fn(...args);
    } catch (err) {
      process.stderr.write(`error: ${errorMessage(err)}\n`);
      process.exitCode = 1;
    }
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
