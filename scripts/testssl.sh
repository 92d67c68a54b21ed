#!/usr/bin/env bash
# testssl.sh against a real Isthmus ingress gateway on loopback (issue 7, "Must show": no vulnerability
# flagged, TLS 1.0/1.1 off). Not part of `npm test`: a full scan takes minutes.
#
# What it does:
#   1. installs testssl.sh with apt-get when it is missing;
#   2. builds Isthmus (set SKIP_BUILD=1 to use the current dist/);
#   3. makes a root CA and a gateway certificate with the Isthmus CLI (`isthmus ca init|issue`);
#   4. starts `isthmus proxy` with a gateway bootstrap: a SIMPLE TLS listener (SNI gateway.isthmus.test,
#      plus a chain for clients without SNI; tls_inspector, ALPN h2/http1.1, no tls_params: the defaults
#      are what is scanned) and a MUTUAL one;
#   5. runs a full testssl.sh scan of the SIMPLE listener and a protocol scan of the MUTUAL one
#      (testssl 3.0 cannot present a client certificate, but protocols are decided before that);
#   6. fails when testssl flags a vulnerability, a weak cipher list, or TLS 1.0/1.1 (or SSL) offered.
# Output: a summary on stdout; the full logs and JSON stay in $TESTSSL_OUT (default: a temp dir, removed
# unless KEEP=1).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLI=("node" "$ROOT/dist/cli/main.js")
HOST=gateway.isthmus.test
WORK=${TESTSSL_OUT:-$(mktemp -d -t isthmus-testssl-XXXXXX)}
mkdir -p "$WORK"
PROXY_PID=""

cleanup() {
  if [[ -n "$PROXY_PID" ]] && kill -0 "$PROXY_PID" 2>/dev/null; then
    kill "$PROXY_PID" 2>/dev/null || true
    wait "$PROXY_PID" 2>/dev/null || true
  fi
  if [[ -z "${TESTSSL_OUT:-}" && "${KEEP:-0}" != "1" ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

# 1. testssl.sh (Debian/Ubuntu package "testssl.sh" installs /usr/bin/testssl).
TESTSSL=$(command -v testssl || command -v testssl.sh || true)
if [[ -z "$TESTSSL" ]]; then
  step "installing testssl.sh with apt-get"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
  $SUDO apt-get install -y testssl.sh >/dev/null || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y testssl.sh >/dev/null; }
  TESTSSL=$(command -v testssl || command -v testssl.sh)
fi
echo "testssl: $TESTSSL $("$TESTSSL" --version 2>/dev/null | grep -m1 -oE 'testssl +[0-9][0-9.]*' | awk '{print $2}' || true)"

# 2. build
if [[ "${SKIP_BUILD:-0}" != "1" ]]; then
  step "building Isthmus"
  (cd "$ROOT" && npx tsc -p tsconfig.build.json)
fi

# 3. certificates from the Isthmus CA
step "certificates from an Isthmus root CA"
"${CLI[@]}" ca init --dir "$WORK/root" --trust-domain cluster.local >/dev/null
"${CLI[@]}" ca issue --ca "$WORK/root" --spiffe spiffe://cluster.local/ns/istio-ingress/sa/ingressgateway --dns "$HOST" --ttl 90d --out "$WORK/gateway"

# 4. the gateway
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
SIMPLE_PORT=$(free_port)
MUTUAL_PORT=$(free_port)
step "ingress gateway: SIMPLE on 127.0.0.1:$SIMPLE_PORT, MUTUAL on 127.0.0.1:$MUTUAL_PORT"
tls_listener() { # name port require_client_certificate
  cat <<YAML
  - name: $1
    address: { socket_address: { address: 127.0.0.1, port_value: $2 } }
    listener_filters:
    - name: envoy.filters.listener.tls_inspector
      typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector }
    filter_chains:
YAML
  # The chain for the gateway's host by SNI, and one for clients without SNI (an Istio Gateway server
  # with hosts "*"): testssl makes some of its probes without SNI.
  tls_chain "$1" "$3" "filter_chain_match: { server_names: [$HOST] }"
  tls_chain "$1-any" "$3" "name: no-sni"
}
tls_chain() { # stat_prefix require_client_certificate first_line
  cat <<YAML
    - $3
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: $2
          common_tls_context:
            alpn_protocols: [h2, http/1.1]
            tls_certificates:
            - certificate_chain: { filename: $WORK/gateway/cert.pem }
              private_key: { filename: $WORK/gateway/key.pem }
            validation_context:
              trusted_ca: { filename: $WORK/gateway/ca-cert.pem }
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: $1
          route_config:
            virtual_hosts:
            - name: gateway
              domains: ["*"]
              routes:
              - match: { prefix: / }
                direct_response: { status: 200, body: { inline_string: "isthmus ingress gateway\n" } }
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
YAML
}
{
  echo "node: { id: router~127.0.0.1~ingressgateway.istio-ingress~istio-ingress.svc.cluster.local, cluster: ingressgateway }"
  echo "admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }"
  echo "static_resources:"
  echo "  listeners:"
  tls_listener https-simple "$SIMPLE_PORT" false
  tls_listener https-mutual "$MUTUAL_PORT" true
} >"$WORK/gateway.yaml"
"${CLI[@]}" proxy -c "$WORK/gateway.yaml" -l warn --drain-time-s 0 >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$SIMPLE_PORT") 2>/dev/null; then break; fi
  if ! kill -0 "$PROXY_PID" 2>/dev/null; then cat "$WORK/proxy.log"; echo "the proxy exited" >&2; exit 1; fi
  sleep 0.2
done
curl -sS --cacert "$WORK/gateway/ca-cert.pem" --resolve "$HOST:$SIMPLE_PORT:127.0.0.1" "https://$HOST:$SIMPLE_PORT/" | sed 's/^/curl: /'

# 5. scans
COMMON=(--quiet --color 0 --warnings off --nodns min --ip 127.0.0.1 --add-ca "$WORK/root/root-cert.pem")
step "testssl.sh full scan of the SIMPLE listener (takes a few minutes)"
"$TESTSSL" "${COMMON[@]}" --jsonfile "$WORK/simple.json" --logfile "$WORK/simple.log" "https://$HOST:$SIMPLE_PORT/" >/dev/null 2>&1 || true
step "testssl.sh protocol scan of the MUTUAL listener"
"$TESTSSL" "${COMMON[@]}" --protocols --jsonfile "$WORK/mutual.json" --logfile "$WORK/mutual.log" "https://$HOST:$MUTUAL_PORT/" >/dev/null 2>&1 || true

# 6. verdict
step "verdict"
node "$ROOT/scripts/testssl-verdict.mjs" "$WORK/simple.json" "$WORK/mutual.json"
