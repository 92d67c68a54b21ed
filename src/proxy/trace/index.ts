// Per-request tracing across hops: the proxy's recorder, and the diagnosis `isthmus trace` makes of entries.
export { TraceRecorder, DEFAULT_TRACE_BYTES, DEFAULT_TRACE_ENTRIES, DEFAULT_TRACE_SUCCESSES_PER_SECOND, TRACE_HEADER } from './recorder.js';
export type { TraceRecorderOptions } from './recorder.js';
export { peerChain, tlsDetails, verifyErrorText } from './certificates.js';
export type { CertificateSummary, HttpTraceRecord, TlsDetails, TraceConnection, TraceEntry, TraceEntryKind, TraceQuery, TraceRouteMatch } from './types.js';
export { diagnoseTrace } from './diagnose.js';
export type { FailureReason, TraceDiagnosis, TraceFailure, TraceHop } from './diagnose.js';
