export { startManagementServer } from './server.js';
export type { ManagementServer, ManagementServerOptions } from './server.js';
export { ManagementApiError, ManagementClient } from './client.js';
export type { ApplyParams, ManagementClientOptions, ResourceQuery } from './client.js';
export { describeKinds, KIND_NAMES, preferredApiVersion, resolveKind, resourceType } from './kinds.js';
export type { KindNames } from './kinds.js';
export { printerColumns } from './columns.js';
export { manifestObjects } from './manifests.js';
export type { ManifestObject } from './manifests.js';
export type { PrinterColumns } from './columns.js';
export { API_PREFIX, DEFAULT_MANAGEMENT_URL, PROXY_CONFIG_TYPES } from './protocol.js';
export type {
  AnalyzeResponse, ApplyResponse, CaRootsResponse, DeleteRequest, DeleteResponse, ErrorBody, IssueCertificateRequest, IssueCertificateResponse, IssueTokenRequest, IssueTokenResponse,
  ManagementProviders, ProxyConfigType, RefInput, ResourceItem, ResourcesResponse, ResourceView, ResultItem, RotateRootResponse, SecretRequest,
  ServicesResponse, ServiceView, StatusResponse,
} from './protocol.js';
