import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnalyzeOptions } from '../../../api/index.js';
import type { ConfigStore, StoreProblem } from '../../store/index.js';
import { HttpError } from '../http.js';
import type { ManagementProviders } from '../protocol.js';

/** What every endpoint handler may use. */
export interface HandlerContext {
  readonly store: ConfigStore;
  /** Current providers: the xDS side fills them after the server has started. */
  providers(): ManagementProviders;
  /** Facts for analyzers that only the running control plane knows (connected gateway workloads). */
  analyzeOptions(): AnalyzeOptions;
}

export type Handler = (context: HandlerContext, req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void>;

const STATUS_BY_CODE: Record<string, number> = { CONFLICT: 409, ALREADY_EXISTS: 409, NOT_FOUND: 404 };

/** Refused config as an HTTP error: 409/404 when only the store's state refused it, else 422. */
export function invalidConfig(problems: readonly StoreProblem[], what: string): HttpError {
  const errors = problems.filter((p) => p.severity === 'error');
  const statuses = new Set(errors.map((p) => STATUS_BY_CODE[p.code] ?? 422));
  const status = statuses.size === 1 ? ([...statuses][0] as number) : 422;
  const code = status === 409 ? 'ERR_CONFLICT' : status === 404 ? 'ERR_NOT_FOUND' : 'ERR_INVALID_CONFIG';
  return new HttpError(status, code, `${what} refused: ${errors.length} error${errors.length === 1 ? '' : 's'}, nothing was changed`, 'fix what each error says and try again', problems);
}
