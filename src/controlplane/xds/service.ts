import type * as grpc from '@grpc/grpc-js';
import { ADS_SERVICE_NAME, discoveryCodec } from '../../envoy/index.js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse } from '../../envoy/index.js';

/**
 * envoy.service.discovery.v3.AggregatedDiscoveryService for @grpc/grpc-js, with messages encoded by
 * the real Envoy protos. The same definition builds a client (grpc.makeGenericClientConstructor).
 */
export const adsServiceDefinition = {
  StreamAggregatedResources: {
    path: `/${ADS_SERVICE_NAME}/StreamAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (request: DiscoveryRequest): Buffer => discoveryCodec.encodeRequest(request),
    requestDeserialize: (bytes: Buffer): DiscoveryRequest => discoveryCodec.decodeRequest(bytes),
    responseSerialize: (response: DiscoveryResponse): Buffer => discoveryCodec.encodeResponse(response),
    responseDeserialize: (bytes: Buffer): DiscoveryResponse => discoveryCodec.decodeResponse(bytes),
    originalName: 'streamAggregatedResources',
  },
  DeltaAggregatedResources: {
    path: `/${ADS_SERVICE_NAME}/DeltaAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (request: DeltaDiscoveryRequest): Buffer => discoveryCodec.encodeDeltaRequest(request),
    requestDeserialize: (bytes: Buffer): DeltaDiscoveryRequest => discoveryCodec.decodeDeltaRequest(bytes),
    responseSerialize: (response: DeltaDiscoveryResponse): Buffer => discoveryCodec.encodeDeltaResponse(response),
    responseDeserialize: (bytes: Buffer): DeltaDiscoveryResponse => discoveryCodec.decodeDeltaResponse(bytes),
    originalName: 'deltaAggregatedResources',
  },
} satisfies grpc.ServiceDefinition;
