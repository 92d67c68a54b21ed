/**
 * A cluster's Envoy statistics (cluster.<name>.*), looked up once so the request path only bumps fields.
 */
import type { Counter, Gauge, StatsStore } from '../stats.js';

export class ClusterStats {
  readonly cxTotal: Counter;
  readonly cxActive: Gauge;
  readonly cxConnectFail: Counter;
  readonly cxConnectTimeout: Counter;
  readonly cxDestroy: Counter;
  readonly cxOverflow: Counter;
  readonly cxHttp1Total: Counter;
  readonly cxHttp2Total: Counter;
  readonly rqTotal: Counter;
  readonly rqActive: Gauge;
  readonly rqPendingTotal: Counter;
  readonly rqPendingActive: Gauge;
  readonly rqPendingOverflow: Counter;
  readonly rqTimeout: Counter;
  readonly rqRxReset: Counter;
  readonly rqTxReset: Counter;
  readonly rqRetryOverflow: Counter;
  readonly rqCompleted: Counter;
  readonly membershipTotal: Gauge;
  readonly membershipHealthy: Gauge;
  /** upstream_rq_1xx .. upstream_rq_5xx by status / 100. */
  private readonly classes: Counter[];
  /** upstream_rq_<code>, created on first use. */
  private readonly codes = new Map<number, Counter>();

  constructor(private readonly store: StatsStore, private readonly prefix: string) {
    const c = (n: string) => store.counter(prefix + n);
    const g = (n: string) => store.gauge(prefix + n);
    this.cxTotal = c('upstream_cx_total');
    this.cxActive = g('upstream_cx_active');
    this.cxConnectFail = c('upstream_cx_connect_fail');
    this.cxConnectTimeout = c('upstream_cx_connect_timeout');
    this.cxDestroy = c('upstream_cx_destroy');
    this.cxOverflow = c('upstream_cx_overflow');
    this.cxHttp1Total = c('upstream_cx_http1_total');
    this.cxHttp2Total = c('upstream_cx_http2_total');
    this.rqTotal = c('upstream_rq_total');
    this.rqActive = g('upstream_rq_active');
    this.rqPendingTotal = c('upstream_rq_pending_total');
    this.rqPendingActive = g('upstream_rq_pending_active');
    this.rqPendingOverflow = c('upstream_rq_pending_overflow');
    this.rqTimeout = c('upstream_rq_timeout');
    this.rqRxReset = c('upstream_rq_rx_reset');
    this.rqTxReset = c('upstream_rq_tx_reset');
    this.rqRetryOverflow = c('upstream_rq_retry_overflow');
    this.rqCompleted = c('upstream_rq_completed');
    this.membershipTotal = g('membership_total');
    this.membershipHealthy = g('membership_healthy');
    this.classes = [1, 2, 3, 4, 5].map((k) => c(`upstream_rq_${k}xx`));
  }

  /** Counts a response by status class and code, as Envoy's upstream_rq_2xx / upstream_rq_200. */
  response(status: number): void {
    this.classes[Math.floor(status / 100) - 1]?.inc();
    let code = this.codes.get(status);
    if (!code) this.codes.set(status, (code = this.store.counter(`${this.prefix}upstream_rq_${status}`)));
    code.inc();
  }
}
