/** istioctl-analyze-style checks over a snapshot. Each analyzer is one module with one concern. */
import type { AnalysisMessage, AnalyzeOptions, ConfigSnapshot } from '../types.js';
import { conflictingGateways } from './conflicting-gateways.js';
import type { Analyzer } from './context.js';
import { destinationHosts } from './destination-hosts.js';
import { destinationRuleTls } from './destinationrule-tls.js';
import { destinationSubsets } from './destination-subsets.js';
import { exportToVisibility } from './exportto.js';
import { sortMessages } from './format.js';
import { gatewaySecrets } from './gateway-secrets.js';
import { gatewaySelector } from './gateway-selector.js';
import { virtualServiceGateways } from './virtualservice-gateways.js';

export type { Analyzer, AnalysisContext } from './context.js';
export { compareMessages, exceedsThreshold, formatAnalysis, sortMessages } from './format.js';
export { MESSAGES } from './messages.js';

export const ANALYZERS: readonly Analyzer[] = [
  virtualServiceGateways,
  destinationHosts,
  destinationSubsets,
  exportToVisibility,
  gatewaySecrets,
  conflictingGateways,
  destinationRuleTls,
  gatewaySelector,
];

/** Runs the analyzers and returns their messages sorted and de-duplicated. */
export function analyze(snapshot: ConfigSnapshot, options: AnalyzeOptions = {}): AnalysisMessage[] {
  const context = { snapshot, options, domainSuffix: options.domainSuffix ?? 'cluster.local' };
  const selected = options.analyzers ? ANALYZERS.filter((a) => options.analyzers?.includes(a.name)) : ANALYZERS;
  const messages = selected.flatMap((a) => a.analyze(context));
  const scoped = options.namespace === undefined ? messages : messages.filter((m) => m.namespace === options.namespace);
  return sortMessages(scoped);
}
