import { IsthmusError } from '../../common/index.js';
import type { StoreProblem } from '../store/index.js';
import { API_PREFIX } from './protocol.js';
import type {
  AnalyzeResponse, ApplyResponse, CaRootsResponse, DeleteRequest, DeleteResponse, ErrorBody, IssueCertificateRequest, IssueCertificateResponse, IssueTokenRequest, IssueTokenResponse,
  ProxyConfigType, ResourcesResponse, RotateRootResponse, SecretRequest, ServicesResponse, StatusResponse,
} from './protocol.js';

export interface ManagementClientOptions {
  /** Base URL of the control plane's management API, e.g. http://127.0.0.1:15014. */
  readonly server: string;
  readonly token?: string;
  readonly timeoutMs?: number;
}

/** The control plane answered with an error; config refusals carry every problem with its field path. */
export class ManagementApiError extends IsthmusError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    hint: string | undefined,
    readonly problems: readonly StoreProblem[],
  ) {
    super(code, message, hint === undefined ? {} : { hint });
    this.name = 'ManagementApiError';
  }
}

export interface ApplyParams {
  /** Names the text in errors: a file name or "stdin". */
  readonly source: string;
  /** Namespace for objects that name none (kubectl apply -n). */
  readonly namespace?: string;
  readonly dryRun?: boolean;
}

export interface ResourceQuery {
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
}

function queryString(params: Record<string, string | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== false) search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

function unreachable(server: string, err: unknown): IsthmusError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return new IsthmusError('ERR_CONTROLPLANE_UNREACHABLE', `no control plane reachable at ${server} (${why})`, {
    hint: 'start one with `isthmus controlplane ...`, or pass --server URL or --context NAME (isthmus config get-contexts lists them)',
    cause: err,
  });
}

/** A small typed client of the management API, for the CLI and for tests. */
export class ManagementClient {
  readonly server: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: ManagementClientOptions) {
    let url: URL;
    try {
      url = new URL(options.server);
    } catch {
      url = new URL('invalid:');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new IsthmusError('ERR_SERVER_URL', `invalid control plane URL "${options.server}"`, { hint: 'give an http(s) URL such as http://127.0.0.1:15014' });
    }
    this.server = options.server.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  apply(text: string, params: ApplyParams): Promise<ApplyResponse> {
    return this.request('POST', `/apply${queryString({ source: params.source, namespace: params.namespace, dryRun: params.dryRun })}`, text, 'application/yaml');
  }

  delete(request: DeleteRequest): Promise<DeleteResponse> {
    return this.request('POST', '/delete', JSON.stringify(request));
  }

  resources(query: ResourceQuery = {}): Promise<ResourcesResponse> {
    return this.request('GET', `/resources${queryString({ ...query })}`);
  }

  createSecret(request: SecretRequest): Promise<ApplyResponse> {
    return this.request('POST', '/secrets', JSON.stringify(request));
  }

  /** Analyzes the served config; with `text`, as if those resources were applied too. */
  analyze(options: { namespace?: string; text?: string; source?: string } = {}): Promise<AnalyzeResponse> {
    const path = `/analyze${queryString({ namespace: options.namespace, source: options.source })}`;
    return options.text === undefined ? this.request('GET', path) : this.request('POST', path, options.text, 'application/yaml');
  }

  status(): Promise<StatusResponse> {
    return this.request('GET', '/status');
  }

  proxyStatus(): Promise<unknown> {
    return this.request('GET', '/proxy-status');
  }

  /** Proxies refused lately (another revision); [] from a control plane that does not report them. */
  async refusedProxies(): Promise<unknown> {
    try {
      return await this.request('GET', '/proxy-status/refused');
    } catch {
      return [];
    }
  }

  proxyConfig(proxy: string, type: ProxyConfigType): Promise<unknown> {
    return this.request('GET', `/proxy-config${queryString({ proxy, type })}`);
  }

  caRoots(): Promise<CaRootsResponse> {
    return this.request('GET', '/ca/roots');
  }

  issueCertificate(request: IssueCertificateRequest): Promise<IssueCertificateResponse> {
    return this.request('POST', '/ca/certificates', JSON.stringify(request));
  }

  issueToken(request: IssueTokenRequest): Promise<IssueTokenResponse> {
    return this.request('POST', '/ca/tokens', JSON.stringify(request));
  }

  rotateRoot(): Promise<RotateRootResponse> {
    return this.request('POST', '/ca/rotate-root', '{}');
  }

  services(): Promise<ServicesResponse> {
    return this.request('GET', '/services');
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: string, contentType = 'application/json'): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = contentType;
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await fetch(`${this.server}${API_PREFIX}${path}`, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw unreachable(this.server, err);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new IsthmusError('ERR_NOT_A_CONTROLPLANE', `${this.server} answered ${response.status} without JSON: it does not look like an Isthmus control plane`, {
        hint: 'check --server (the management API address of `isthmus controlplane`)',
      });
    }
    if (!response.ok) {
      const error = (parsed as Partial<ErrorBody>).error;
      throw new ManagementApiError(response.status, error?.code ?? 'ERR_HTTP', error?.message ?? `HTTP ${response.status}`, error?.hint, (parsed as Partial<ErrorBody>).problems ?? []);
    }
    return parsed as T;
  }
}
