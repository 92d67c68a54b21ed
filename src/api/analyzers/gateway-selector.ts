/**
 * A Gateway whose selector matches no gateway workload configures nothing (istioctl: gateway.IngressGatewayPortAnalyzer
 * reports the selector as not found). Only checked when the caller says which gateway workloads exist.
 */
import { formatSelector } from '../hosts.js';
import type { Analyzer } from './context.js';
import { workloadsFor } from './context.js';
import { referencedNotFound } from './messages.js';

export const gatewaySelector: Analyzer = {
  name: 'gateway.selector',
  description: 'Gateway selectors match a known gateway workload (needs AnalyzeOptions.gatewayWorkloads)',
  analyze(context) {
    if (!context.options.gatewayWorkloads) return [];
    return context.snapshot.gateways
      .filter((gw) => workloadsFor(context, gw).length === 0)
      .map((gw) => referencedNotFound(gw, 'selector', formatSelector(gw.spec.selector), ['spec', 'selector']));
  },
};
