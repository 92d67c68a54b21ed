// Config used by the store and management API tests: seed 000's mesh-B resources, as written there.
import { loadResources } from '../../../src/api/index.js';
import type { IstioResource } from '../../../src/api/index.js';

export const MESH_B_SERVICE = `# The external service will be visible only from the Istio ingress gateway
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: se-alb-ext
  namespace: istio-ingress
spec:
  exportTo:
    - .
  hosts:
    - alb.jesus2.solo.io
  ports:
    - name: https
      number: 443
      protocol: HTTPS
  resolution: DNS
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: dr-alb-ext
  namespace: istio-ingress
spec:
  host: alb.jesus2.solo.io
  trafficPolicy:
    portLevelSettings:
      - port:
          number: 443
        tls:
          mode: SIMPLE
`;

export function gatewayYaml(mode: string, host = 'lambda.external'): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata:
  name: eastwestgateway
  namespace: istio-ingress
spec:
  selector:
    app: istio-ingressgateway
    istio: ingressgateway
    istio.io/rev: 1-17
  servers:
    - hosts:
        - ${host}
      port:
        name: https
        number: 443
        protocol: HTTPS
      tls:
        credentialName: mtls-credential
        mode: ${mode}
`;
}

export const MESH_B_GATEWAY = `${gatewayYaml('MUTUAL')}---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: vs-lambda
  namespace: istio-ingress
spec:
  exportTo:
    - .
  gateways:
    - eastwestgateway
  hosts:
    - lambda.external
  http:
    - match:
        - sourceLabels:
            app: istio-ingressgateway
            istio: ingressgateway
            istio.io/rev: 1-17
          uri:
            prefix: /
      route:
        - destination:
            host: alb.jesus2.solo.io
            port:
              number: 443
`;

/** Resources from YAML that must be valid (the test's own fixtures). */
export function resources(text: string, source = 'fixture.yaml'): IstioResource[] {
  const loaded = loadResources(text, source);
  if (loaded.errors.length > 0) throw new Error(`fixture does not load: ${JSON.stringify(loaded.errors)}`);
  return loaded.resources;
}

/** Polls until `check` returns a value (or throws after `timeoutMs`), for changes that arrive through fs.watch. */
export async function eventually<T>(check: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
