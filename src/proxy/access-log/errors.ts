import { IsthmusError } from '../../common/index.js';

/** A bad access log config: an unknown command operator, a malformed format string, a bad logger. */
export class AccessLogConfigError extends IsthmusError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super('ERR_ACCESS_LOG_CONFIG', message, { ...(hint === undefined ? {} : { hint }), ...(cause === undefined ? {} : { cause }) });
    this.name = 'AccessLogConfigError';
  }
}
