import { Command, Option } from 'commander';
import { createLogger, DEFAULT_MAX_DISK, DEFAULT_RETENTION, errorMessage, InvalidInputError } from '@archfarm/common';
import { ARCHFARM_VERSION } from '@archfarm/common';
import { Coordinator } from './coordinator';

const program = new Command('archfarm-coordinator')
  .version(ARCHFARM_VERSION)
  .description('The archfarm coordinator: splits builds into per-platform jobs for agents and publishes one manifest list.')
  .option('--listen <host:port>', 'address of the gRPC API for agents and the CLI', '127.0.0.1:7420')
  .option('--data-dir <dir>', 'where build contexts and state are kept', '.archfarm/coordinator')
  .option('--insecure-registry <host:port>', 'registry to reach over plain HTTP (repeatable; loopback is always plain)', collect, [])
  .option('--registry-auth-file <path>', 'Docker config.json holding registry credentials (default: none; see --use-host-docker-config)')
  .option('--use-host-docker-config', "read this host's own Docker config ($DOCKER_CONFIG or ~/.docker) for registry credentials; without it only `archfarm registry login` and builds' --forward-credentials supply any")
  .option('--tls-cert <file>', 'server certificate (PEM); default: one made in DATA/tls on first start')
  .option('--tls-key <file>', 'key of --tls-cert')
  .option('--client-ca <file>', 'CA that agent certificates must chain to (with --tls-cert)')
  .option('--tls-san <name>', 'extra DNS name or IP for the generated server certificate (repeatable)', collect, [])
  .option('--insecure', 'DEV MODE: plaintext, no tokens; loopback only')
  .option('--http-listen <host:port>', 'plain-HTTP listener for /metrics, /healthz and /readyz (off by default; keep it on loopback or a private network)')
  .addOption(new Option('--agent-cert-ttl <ms>', 'lifetime of agent certificates (renewed at two thirds)').default(24 * 3600_000).argParser(Number))
  .addOption(new Option('--max-context-size <bytes>', 'largest build context accepted').default(2 * 1024 ** 3).argParser(Number))
  .option('--retention <duration>', `prune finished builds' logs and contexts older than this (default ${DEFAULT_RETENTION})`)
  .option('--max-disk <size>', `prune the oldest finished builds' logs and contexts beyond this size (default ${DEFAULT_MAX_DISK})`)
  .addOption(new Option('--max-pending-builds <n>', 'running builds per operator token').default(20).argParser(Number))
  .addOption(new Option('--heartbeat-interval <ms>', 'how often agents send heartbeats').default(5000).argParser(Number))
  .addOption(new Option('--max-attempts <n>', 'tries per job for infrastructure failures').default(3).argParser(Number))
  .addOption(new Option('--lease-ttl <ms>', 'a job goes back to the queue this long after its agent\'s last heartbeat').default(30_000).argParser(Number))
  .addOption(new Option('--native-wait <ms>', 'how long a job waits for a busy native agent before an emulating one takes it').default(30_000).argParser(Number))
  .addOption(new Option('--retry-base-delay <ms>', 'first retry delay of a job or a publish (doubles, with jitter)').default(2000).argParser(Number))
  .addHelpText('after', '\nExample:\n  archfarm-coordinator --listen 0.0.0.0:7420 --data-dir /var/lib/archfarm\n\nOn first start it makes its CA, logs the CA fingerprint (agents pin it) and writes an admin token to DATA/admin-token (0600).')
  .action(async (opts: Record<string, unknown>) => {
    // Everything the coordinator writes (database, keys, contexts, logs) is its own: 0600 files, 0700 dirs.
    process.umask(0o077);
    const logger = createLogger('archfarm-coordinator');
    const coordinator = await Coordinator.start(
      {
        listen: opts.listen as string,
        dataDir: opts.dataDir as string,
        insecureRegistries: opts.insecureRegistry as string[],
        registryAuthFile: opts.registryAuthFile as string | undefined,
        useHostDockerConfig: Boolean(opts.useHostDockerConfig),
        heartbeatIntervalMs: opts.heartbeatInterval as number,
        maxAttempts: opts.maxAttempts as number,
        leaseTtlMs: opts.leaseTtl as number,
        retryBaseDelayMs: opts.retryBaseDelay as number,
        nativeWaitMs: opts.nativeWait as number,
        tlsCert: opts.tlsCert as string | undefined,
        tlsKey: opts.tlsKey as string | undefined,
        clientCa: opts.clientCa as string | undefined,
        tlsSans: opts.tlsSan as string[],
        insecure: Boolean(opts.insecure),
        agentCertTtlMs: opts.agentCertTtl as number,
        maxPendingBuilds: opts.maxPendingBuilds as number,
        maxContextBytes: opts.maxContextSize as number,
        retention: opts.retention as string | undefined,
        maxDisk: opts.maxDisk as string | undefined,
        httpListen: opts.httpListen as string | undefined,
      },
      logger,
    );
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      void coordinator.stop().then(() => process.exit(0));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`archfarm-coordinator: ${errorMessage(err)}\n`);
  process.exit(err instanceof InvalidInputError ? 2 : 1);
});
