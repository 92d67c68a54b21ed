/**
 * Message types, with Istio's codes, names and levels where Istio has the check
 * (pkg/config/analysis/msg/messages.yaml), and ISM codes for checks that are Isthmus' own.
 */
import { locateField } from '../locations.js';
import { formatPath } from '../paths.js';
import type { FieldPath } from '../paths.js';
import type { AnalysisLevel, AnalysisMessage, IstioResource } from '../types.js';

export interface MessageType {
  readonly code: string;
  readonly type: string;
  readonly level: AnalysisLevel;
}

function istio(code: string, type: string, level: AnalysisLevel): MessageType {
  return { code, type, level };
}

export const MESSAGES = {
  ReferencedResourceNotFound: istio('IST0101', 'ReferencedResourceNotFound', 'Error'),
  VirtualServiceDestinationPortSelectorRequired: istio('IST0112', 'VirtualServiceDestinationPortSelectorRequired', 'Error'),
  NoServerCertificateVerificationDestinationLevel: istio('IST0128', 'NoServerCertificateVerificationDestinationLevel', 'Error'),
  NoServerCertificateVerificationPortLevel: istio('IST0129', 'NoServerCertificateVerificationPortLevel', 'Warning'),
  ConflictingGateways: istio('IST0145', 'ConflictingGateways', 'Error'),
  InvalidGatewayCredential: istio('IST0161', 'InvalidGatewayCredential', 'Error'),
  DestinationRuleMutualWithoutCertificate: istio('ISM0001', 'DestinationRuleMutualWithoutCertificate', 'Error'),
  InvalidDestinationRuleCredential: istio('ISM0002', 'InvalidDestinationRuleCredential', 'Error'),
  VirtualServiceNotVisibleToGateway: istio('ISM0003', 'VirtualServiceNotVisibleToGateway', 'Error'),
} as const;

export function createMessage(type: MessageType, resource: IstioResource, message: string, path?: FieldPath): AnalysisMessage {
  const { kind, metadata } = resource;
  const out: { -readonly [K in keyof AnalysisMessage]: AnalysisMessage[K] } = {
    code: type.code,
    type: type.type,
    level: type.level,
    resource: metadata.namespace ? `${kind} ${metadata.name}.${metadata.namespace}` : `${kind} ${metadata.name}`,
    kind,
    name: metadata.name,
    namespace: metadata.namespace,
    message,
  };
  if (path && path.length > 0) out.path = formatPath(path);
  const origin = locateField(resource, path ?? []);
  if (origin) out.origin = origin;
  if (type.code.startsWith('IST')) out.documentationUrl = `https://istio.io/latest/docs/reference/config/analysis/${type.code.toLowerCase()}/`;
  return out;
}

/** Istio's ReferencedResourceNotFound text: Referenced <what> not found: "<name>". */
export function referencedNotFound(resource: IstioResource, what: string, name: string, path?: FieldPath, detail?: string): AnalysisMessage {
  return createMessage(MESSAGES.ReferencedResourceNotFound, resource, `Referenced ${what} not found: ${JSON.stringify(name)}${detail ? ` (${detail})` : ''}`, path);
}
