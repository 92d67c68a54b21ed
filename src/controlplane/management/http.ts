import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoreProblem } from '../store/index.js';
import type { ErrorBody } from './protocol.js';

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** A request the server refuses; mapped to a status and an ErrorBody in one place (the router). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly problems?: readonly StoreProblem[],
  ) {
    super(message);
    this.name = 'HttpError';
  }

  body(): ErrorBody {
    const error = this.hint ? { code: this.code, message: this.message, hint: this.hint } : { code: this.code, message: this.message };
    return this.problems ? { error, problems: this.problems } : { error };
  }
}

export async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'ERR_BODY_TOO_LARGE', `request body over ${MAX_BODY_BYTES} bytes`, 'split the config into several requests');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readText(req);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'ERR_BAD_JSON', 'request body is not JSON', 'send a JSON object with Content-Type: application/json');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'ERR_BAD_JSON', 'request body is not a JSON object', 'send a JSON object');
  }
  return value as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** A boolean query parameter: present without value, "true" or "1". */
export function flag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value !== null && (value === '' || value === 'true' || value === '1');
}

/** A query parameter that is absent when empty. */
export function param(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name);
  return value === null || value === '' ? undefined : value;
}
