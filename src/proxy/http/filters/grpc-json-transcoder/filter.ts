/**
 * The per-stream transcoder (Envoy's JsonTranscoderFilter). A request that matches an HttpRule of the
 * configured services becomes a gRPC call: POST /package.Service/Method with one length-prefixed message;
 * the gRPC response becomes JSON, with grpc-status mapped to the HTTP status. Requests that match no rule,
 * and requests that already are gRPC, pass through untouched.
 *
 * With the filter contract's buffering, the transcoder sets bufferRequestBody / bufferResponseBody for
 * transcoded streams and expects decodeBody / encodeBody once even when the body is empty (a GET has
 * no body, yet the gRPC message is produced in decodeBody).
 */
import type { JsonObject } from '@bufbuild/protobuf';
import type { HeaderMap, HttpFilter, LocalReply, RequestHead, ResponseHead, StreamInfo } from '../../filter.js';
import { GrpcFrameError, decodeGrpcFrames, encodeGrpcFrames } from './grpc-frame.js';
import { INVALID_GRPC_STATUS, decodeGrpcMessage, grpcToHttpStatus, readGrpcStatus } from './grpc-status.js';
import { firstHeader, isGrpcContentType } from './headers.js';
import type { MethodRoute } from './method-routes.js';
import { parseQueryBindings } from './query-params.js';
import { RequestTranscodeError, bindVariables, buildRequestMessages } from './request-builder.js';
import { ResponseTranscodeError, buildHttpResponse } from './response-builder.js';
import { rpcStatusJson } from './rpc-status.js';
import type { TranscoderConfig } from './transcoder-config.js';

interface TranscodedCall {
  readonly route: MethodRoute;
  readonly bindings: readonly JsonObject[];
  /** The client's content-type, which a google.api.HttpBody request carries along. */
  readonly contentType: string | undefined;
}

type ResponseBody = { body: Buffer; trailers?: HeaderMap };

function badRequest(message: string): LocalReply {
  return { status: 400, body: message, headers: { 'content-type': 'text/plain' } };
}

function isServerStreaming(route: MethodRoute): boolean {
  return route.method.methodKind === 'server_streaming' || route.method.methodKind === 'bidi_streaming';
}

export class GrpcJsonTranscoderFilter implements HttpFilter {
  private call: TranscodedCall | undefined;
  /** Set once encodeHeaders saw a gRPC response to a transcoded call. */
  private response: { readonly trailersOnly: boolean; trailersOnlyBody?: Buffer } | undefined;

  constructor(private readonly config: TranscoderConfig) {}

  decodeHeaders(head: RequestHead, stream: StreamInfo): void | LocalReply {
    const contentType = firstHeader(head.headers, 'content-type');
    if (isGrpcContentType(contentType)) return; // a gRPC client: nothing to transcode

    const { options, matcher, registry } = this.config;
    const q = head.path.indexOf('?');
    const match = matcher.lookup(head.method, q >= 0 ? head.path.slice(0, q) : head.path);
    if (!match) return;

    const route = match.data;
    const query = q >= 0 ? parseQueryBindings(head.path.slice(q + 1), options.ignoredQueryParameters, options.queryParamUnescapePlus) : [];
    let bound;
    try {
      bound = bindVariables(route.method.input, [...match.bindings, ...query], options.ignoreUnknownQueryParameters, registry);
    } catch (err) {
      if (err instanceof RequestTranscodeError) return badRequest(err.message);
      throw err;
    }
    // Envoy does not transcode a request with a query parameter that names no field.
    if (bound.kind === 'unknownField') return;

    this.call = { route, bindings: bound.bindings, contentType };
    const headers = head.headers;
    headers['x-envoy-original-path'] = head.path;
    headers['x-envoy-original-method'] = head.method;
    headers['content-type'] = 'application/grpc';
    headers['te'] = 'trailers';
    // The body is replaced, so its framing headers no longer apply.
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    head.method = 'POST';
    head.path = route.grpcPath;
    stream.bufferRequestBody = true;
    if (!options.matchIncomingRequestRoute) stream.clearRouteCache();
  }

  decodeBody(body: Buffer): Buffer | LocalReply {
    const call = this.call;
    if (!call) return body;
    try {
      return encodeGrpcFrames(buildRequestMessages(call.route, call.bindings, body, call.contentType, this.config.registry));
    } catch (err) {
      if (!(err instanceof RequestTranscodeError)) throw err;
      this.call = undefined; // the local reply is not a gRPC response to convert
      return badRequest(err.message);
    }
  }

  encodeHeaders(head: ResponseHead, stream: StreamInfo): void {
    if (!this.call) return;
    const trailersOnly = readGrpcStatus(head.headers) !== undefined;
    const grpcResponse = head.status === 200 && isGrpcContentType(firstHeader(head.headers, 'content-type'));
    if (!trailersOnly && !grpcResponse) {
      this.call = undefined; // not gRPC (e.g. a proxy error page): pass it through, as Envoy does
      return;
    }
    stream.bufferResponseBody = true;
    delete head.headers['content-length'];
    if (trailersOnly) {
      // Everything is in the headers; finish now so the status is right even if no body follows.
      this.response = { trailersOnly };
      this.response.trailersOnlyBody = this.finishResponse(head, Buffer.alloc(0), undefined, stream).body;
    } else {
      this.response = { trailersOnly };
    }
  }

  encodeBody(body: Buffer, trailers: HeaderMap | undefined, head: ResponseHead, stream: StreamInfo): ResponseBody {
    if (!this.call || !this.response) return { body, trailers };
    if (this.response.trailersOnly) return { body: this.response.trailersOnlyBody ?? Buffer.alloc(0) };
    return this.finishResponse(head, body, trailers, stream);
  }

  /** Envoy's doTrailers + maybeConvertGrpcStatus, on a fully buffered response. */
  private finishResponse(head: ResponseHead, upstreamBody: Buffer, trailers: HeaderMap | undefined, stream: StreamInfo): ResponseBody {
    const route = (this.call as TranscodedCall).route;
    const trailersOnly = this.response?.trailersOnly === true;
    const statusHeaders = trailersOnly ? head.headers : trailers;
    const grpcStatus = readGrpcStatus(statusHeaders);
    const http2 = stream.downstreamProtocol === 'HTTP/2';
    if (!http2) delete head.headers['trailer'];
    const outTrailers = http2 && !trailersOnly ? trailers : undefined;
    const done = (body: Buffer): ResponseBody => {
      head.headers['content-length'] = String(body.length);
      return outTrailers ? { body, trailers: outTrailers } : { body };
    };

    const { options, registry } = this.config;
    if (options.convertGrpcStatus && grpcStatus !== undefined && grpcStatus > 0 && upstreamBody.length === 0) {
      const json = rpcStatusJson(
        {
          code: grpcStatus,
          message: decodeGrpcMessage(statusHeaders && firstHeader(statusHeaders, 'grpc-message')),
          detailsBin: statusHeaders && firstHeader(statusHeaders, 'grpc-status-details-bin'),
        },
        registry,
        options.print,
      );
      head.status = grpcToHttpStatus(grpcStatus);
      if (trailersOnly) {
        // The JSON body carries them now.
        delete head.headers['grpc-status'];
        delete head.headers['grpc-message'];
        delete head.headers['grpc-status-details-bin'];
      }
      head.headers['content-type'] = 'application/json';
      return done(Buffer.from(json));
    }

    let converted;
    try {
      converted = buildHttpResponse(route, decodeGrpcFrames(upstreamBody), options.print, registry);
    } catch (err) {
      if (!(err instanceof GrpcFrameError) && !(err instanceof ResponseTranscodeError)) throw err;
      head.status = 502;
      head.headers['content-type'] = 'text/plain';
      return done(Buffer.from(err.message));
    }
    // A trailers-only unary error without conversion keeps the upstream's content-type, as in Envoy.
    if (!(trailersOnly && converted.body.length === 0)) head.headers['content-type'] = converted.contentType;

    // Envoy streams a server-streaming response, so its status is already 200 unless trailers-only.
    if (!isServerStreaming(route) || trailersOnly) {
      if (grpcStatus === undefined || grpcStatus === INVALID_GRPC_STATUS) {
        head.status = 503;
      } else {
        head.status = grpcToHttpStatus(grpcStatus);
        if (!trailersOnly && trailers) {
          head.headers['grpc-status'] = String(grpcStatus);
          const grpcMessage = firstHeader(trailers, 'grpc-message');
          if (grpcMessage !== undefined) head.headers['grpc-message'] = grpcMessage;
        }
      }
    }
    return done(converted.body);
  }
}
