import { Command } from 'commander';
import { addSettings, ARCHFARM_VERSION, createLogger, errorMessage, InvalidInputError, resolveSettings } from '@archfarm/common';
import { Coordinator } from './coordinator';
import { COORDINATOR_SETTINGS } from './settings';

const program = addSettings(
  new Command('archfarm-coordinator')
    .version(ARCHFARM_VERSION)
    .description('The archfarm coordinator: splits builds into per-platform jobs for agents and publishes one manifest list.'),
  COORDINATOR_SETTINGS,
  'ARCHFARM_COORDINATOR_CONFIG',
  '/etc/archfarm/coordinator.json',
)
  .addHelpText(
    'after',
    `
Durations take a unit (500ms, 30s, 5m, 12h, 7d) and sizes one (500MiB, 2GiB). Every flag has
the environment form shown, and a key in --config's JSON file: the flag's name in camelCase,
e.g. {"listen": "0.0.0.0:7420", "leaseTtl": "30s", "insecureRegistry": ["reg.lan:5000"]}.
A flag beats its variable, which beats the file, which beats the default.

Example:
  archfarm-coordinator --listen 0.0.0.0:7420 --data-dir /var/lib/archfarm --http-listen 127.0.0.1:7421

On first start it makes its CA, logs the CA fingerprint (agents pin it) and writes an admin token to DATA/admin-token (0600).`,
  )
  .action(async () => {
    // Everything the coordinator writes (database, keys, contexts, logs) is its own: 0600 files, 0700 dirs.
    process.umask(0o077);
    const { options, given } = resolveSettings(program, COORDINATOR_SETTINGS);
    const { logLevel, ...coordinatorOptions } = options;
    const logger = createLogger('archfarm-coordinator', logLevel);
    logger.info({ settings: given }, 'settings given (the rest are defaults)');
    const coordinator = await Coordinator.start(coordinatorOptions, logger);
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      void coordinator.stop().then(() => process.exit(0));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`archfarm-coordinator: ${errorMessage(err)}\n`);
  process.exit(err instanceof InvalidInputError ? 2 : 1);
});
