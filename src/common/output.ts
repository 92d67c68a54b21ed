import Table from 'cli-table3';
import { stringify } from 'yaml';
import { IsthmusError } from './errors.js';

export type OutputFormat = 'table' | 'json' | 'yaml';

export function parseOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === 'table' || value === 'wide') return 'table';
  if (value === 'json' || value === 'yaml') return value;
  throw new IsthmusError('ERR_OUTPUT_FORMAT', `unknown output format "${value}"`, {
    hint: 'use -o json, -o yaml, or leave -o out for a table',
  });
}

/** Machine output: JSON (2-space indented) or YAML. */
export function formatData(data: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : stringify(data);
}

/**
 * A borderless, column-aligned table as kubectl and istioctl print them:
 * upper-case headers, columns separated by spaces.
 */
export function formatTable(headers: string[], rows: Array<Array<string | number>>): string {
  const table = new Table({
    head: headers.map((h) => h.toUpperCase()),
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
      bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '',
      right: '', 'right-mid': '', middle: '   ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const row of rows) table.push(row.map(String));
  return `${table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')}\n`;
}
