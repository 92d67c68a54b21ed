// Links between meshes (isthmus mesh export): pure resource generators and credential checks.
export {
  DEFAULT_EGRESS, DEFAULT_INGRESS, EXPORT_TLS_PORT, IMPORT_PORT, LINK_LABEL, REDACTED, credentialSecret, defaultImportHost, exportSideResources,
  importSideResources, linkIdentities, linkNames, linkSlug, manifestsYaml, redactSecret, resolutionOf, selectorFromLabels, spiffeIdOf,
} from './export.js';
export type { CredentialPem, ExportPlan, GatewayEndpoint, GatewayWorkload, LinkManifest, LinkNames } from './export.js';
export { LinkCredentialError, bundleFingerprints, checkCredential, checkTrustBundle, decideCredential, sameBundle } from './credentials.js';
export type { CredentialAction, CredentialDecision, CredentialExpectation, ExistingCredential, LinkCheck } from './credentials.js';
