// The soak mesh's Istio config: fixed parts once, and a generation of pushes that keep routing valid.

export const APP_ID = 'spiffe://cluster.local/ns/apps/sa/echo';
export const EGRESS_ID = 'spiffe://cluster.local/ns/istio-system/sa/egress';
export const SERVICE_HOST = 'echo.apps.internal';
export const SERVICE_PORT = 9000;
export const INBOUND_PORT = 9080;
export const GATEWAY_PORT = 8080;

/**
 * An egress-like gateway (port 80 -> GATEWAY_PORT) in front of the mesh service echo.apps.internal,
 * whose one workload is the sidecar at `sidecarIp`; mTLS STRICT for the mesh.
 */
export function baseConfig(sidecarIp: string): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: { name: egress, namespace: istio-system }
spec:
  selector: { istio: egressgateway }
  servers:
  - hosts: ["*"]
    port: { name: http, number: 80, protocol: HTTP }
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: echo, namespace: apps }
spec:
  hosts: [${SERVICE_HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ name: http, number: ${SERVICE_PORT}, protocol: HTTP, targetPort: ${INBOUND_PORT} }]
  subjectAltNames: ["${APP_ID}"]
  workloadSelector:
    labels: { app: echo }
---
apiVersion: networking.istio.io/v1beta1
kind: WorkloadEntry
metadata: { name: echo-1, namespace: apps }
spec:
  address: ${sidecarIp}
  labels: { app: echo }
  ports: { http: ${INBOUND_PORT} }
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec:
  mtls: { mode: STRICT }
`;
}

/**
 * Push number `n`: the route sets x-soak-push: n (the app echoes it, so the client sees when it
 * arrived) and alternates its timeout (RDS on the gateway); the DestinationRule alternates its
 * connection pool (CDS: the cluster and its pooled upstream connections are rebuilt); the
 * AuthorizationPolicy alternates an extra path (LDS on the sidecar: its inbound listener's RBAC filter).
 * Every generation allows the gateway's identity on /soak/*.
 */
export function pushConfig(n: number): string {
  const even = n % 2 === 0;
  return `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: { name: soak, namespace: istio-system }
spec:
  hosts: ["*"]
  gateways: [egress]
  http:
  - match: [{ uri: { prefix: /soak/ } }]
    headers: { request: { set: { x-soak-push: "${n}" } } }
    timeout: ${even ? '10s' : '12s'}
    route:
    - destination: { host: ${SERVICE_HOST}, port: { number: ${SERVICE_PORT} } }
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: { name: echo, namespace: apps }
spec:
  host: ${SERVICE_HOST}
  trafficPolicy:
    tls: { mode: ISTIO_MUTUAL }
    connectionPool:
      tcp: { connectTimeout: ${even ? '5s' : '6s'} }
      http: { idleTimeout: ${even ? '30s' : '31s'} }
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: { name: echo, namespace: apps }
spec:
  selector: { matchLabels: { app: echo } }
  action: ALLOW
  rules:
  - from: [{ source: { principals: ["${EGRESS_ID.replace('spiffe://', '')}"] } }]
    to: [{ operation: { paths: ["/soak/*"${even ? '' : `, "/extra-${n}"`}] } }]
`;
}
