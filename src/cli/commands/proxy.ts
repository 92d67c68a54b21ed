import type { Command } from 'commander';
import { pino } from 'pino';
import { IsthmusError, writeFileAtomic } from '../../common/index.js';
import { loadBootstrapFile } from '../../envoy/index.js';
import { ProxyServer } from '../../proxy/index.js';
import { action } from '../action.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'critical', 'off'];

export function registerProxyCommand(program: Command): void {
  program
    .command('proxy')
    .description('run the Isthmus proxy from an Envoy v3 bootstrap file (static listeners, clusters, admin)')
    .option('-c, --config-path <file>', 'Envoy v3 bootstrap, YAML or JSON')
    .option('-l, --log-level <level>', `log level: ${LEVELS.join(', ')}`, 'info')
    .option('--drain-time-s <seconds>', 'on SIGTERM, how long open connections may finish', '5')
    .option('--admin-address-path <file>', 'write the admin address (ip:port) to this file once listening, as Envoy does')
    .option('--mode <mode>', "'serve', or 'validate' to check the config and exit", 'serve')
    .action(action(async (opts: { configPath?: string; logLevel: string; drainTimeS: string; mode: string; adminAddressPath?: string }) => {
      if (!opts.configPath) {
        throw new IsthmusError('ERR_PROXY_CONFIG', 'no config file given', { hint: 'pass -c FILE (an Envoy v3 bootstrap in YAML or JSON)' });
      }
      if (!LEVELS.includes(opts.logLevel)) {
        throw new IsthmusError('ERR_PROXY_CONFIG', `unknown log level "${opts.logLevel}"`, { hint: `use one of ${LEVELS.join(', ')}` });
      }
      const level = opts.logLevel === 'critical' ? 'fatal' : opts.logLevel === 'off' ? 'silent' : opts.logLevel;
      const logger = pino({ name: 'isthmus-proxy', level }, pino.destination(2));
      const loaded = await loadBootstrapFile(opts.configPath);
      const server = await ProxyServer.create(loaded, { logger, drainTimeMs: Number(opts.drainTimeS) * 1000 });
      if (opts.mode === 'validate') {
        await server.stop(0);
        process.stdout.write(`configuration '${opts.configPath}' OK\n`);
        return;
      }
      await server.start();
      if (opts.adminAddressPath && server.adminPort !== undefined) {
        const host = loaded.bootstrap.admin?.address?.socket_address.address ?? '127.0.0.1';
        await writeFileAtomic(opts.adminAddressPath, `${host}:${server.adminPort}`);
      }
      await new Promise<void>((resolve) => {
        const shutdown = (signal: string) => {
          logger.info({ signal }, 'draining');
          void server.stop().then(resolve);
        };
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        process.once('SIGINT', () => shutdown('SIGINT'));
      });
      logger.flush();
    }));
}
