/** A VirtualService bound to a Gateway that does not exist (istioctl: virtualservice.GatewayAnalyzer). */
import { findGateway } from '../snapshot.js';
import type { Analyzer } from './context.js';
import { gatewayReferences } from './context.js';
import { referencedNotFound } from './messages.js';

export const virtualServiceGateways: Analyzer = {
  name: 'virtualservice.gateways',
  description: 'VirtualServices reference Gateways that exist',
  analyze({ snapshot }) {
    return snapshot.virtualServices.flatMap((vs) =>
      gatewayReferences(vs)
        .filter((ref) => !findGateway(snapshot, ref.namespace, ref.name))
        .map((ref) => referencedNotFound(vs, 'gateway', ref.ref, ref.path)),
    );
  },
};
