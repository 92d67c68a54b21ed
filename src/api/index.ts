// The config model layer: load, validate, snapshot and analyze Istio config (+ Secret, Namespace, MeshConfig).
export type * from './types.js';
export { loadResources, loadResourceFiles, checkResourceSet } from './loader.js';
export { validateObject, formatConfigError, describeResource } from './validate.js';
export type { DocumentContext, ObjectValidation } from './validate.js';
export { formatPath } from './paths.js';
export type { FieldPath, Issue } from './paths.js';
export { KINDS, lookupKind } from './kinds.js';
export type { KindInfo } from './kinds.js';
export { buildSnapshot, resolveMeshConfig, findSecret, findGateway, MESH_DEFAULTS } from './snapshot.js';
export { secretValues, extractTlsCredential } from './secrets.js';
export type { TlsCredential, TlsCredentialResult, CredentialUse } from './secrets.js';
export { hostsMatch, hostSubsetOf, resolveHost, isExportedTo, formatSelector, selectorMatches } from './hosts.js';
export { parseProtocol, isHttpProtocol, isTlsProtocol } from './semantic/common.js';
export type { Protocol } from './semantic/common.js';
export { analyze, ANALYZERS, MESSAGES, formatAnalysis, sortMessages, compareMessages, exceedsThreshold } from './analyzers/index.js';
export type { Analyzer, AnalysisContext } from './analyzers/index.js';
export { readIstioOperator, resolveOperator, formatOperatorIssue, OPERATOR_API_VERSION, DEFAULT_GATEWAY_PORTS } from './operator/index.js';
export type { ReadOperatorResult, OperatorInstall, OperatorGateway, OperatorControlPlane, OperatorServicePort, OperatorProfile, GatewayKind, PilotSettings, ReadOperatorOptions } from './operator/index.js';
