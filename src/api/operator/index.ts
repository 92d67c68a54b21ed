// IstioOperator (install.istio.io/v1alpha1): read and resolved into what `isthmus install` runs.
export type * from './types.js';
export { readIstioOperator, resolveOperator, formatOperatorIssue, OPERATOR_API_VERSION, DEFAULT_GATEWAY_PORTS } from './read.js';
export type { ReadOperatorResult } from './read.js';
