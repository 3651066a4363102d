import { Command } from 'commander';
import { addSettings, ARCHFARM_VERSION, createLogger, errorMessage, InvalidInputError, resolveSettings } from '@archfarm/common';
import { Agent } from './agent';
import { DockerEngine, parseDockerHost } from './engine';
import { compileAgentOptions } from './options';
import { AGENT_SETTINGS } from './settings';

const program = addSettings(
  new Command('archfarm-agent')
    .version(ARCHFARM_VERSION)
    .description('The archfarm build agent: dials out to the coordinator and builds its jobs with the local container engine.'),
  AGENT_SETTINGS,
  'ARCHFARM_AGENT_CONFIG',
  '/etc/archfarm/agent.json',
)
  .addHelpText(
    'after',
    `
Durations take a unit (500ms, 30s, 5m, 12h, 7d). Every flag has the environment form shown,
and a key in --config's JSON file: the flag's name in camelCase, e.g.
{"coordinator": "192.168.1.10:7420", "name": "pi-1", "label": ["site=home"]}.
A flag beats its variable, which beats the file, which beats the default.

Example (a Raspberry Pi, first start):
  archfarm-agent --coordinator 192.168.1.10:7420 --name pi-1 --state-dir /var/lib/archfarm-agent \\
      --join-token afj_... --ca-fingerprint sha256:...`,
  )
  .action(async () => {
    const { options: settings, given } = resolveSettings(program, AGENT_SETTINGS);
    const { logLevel, ...agentOptions } = settings;
    const options = compileAgentOptions(agentOptions);
    const logger = createLogger('archfarm-agent', logLevel).child({ agent: options.name });
    logger.info({ settings: given }, 'settings given (the rest are defaults)');
    const agent = new Agent(options, new DockerEngine({ host: parseDockerHost(options.dockerHost) }), logger);
    await agent.start();
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      void agent.stop().then(() => process.exit(0));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`archfarm-agent: ${errorMessage(err)}\n`);
  process.exit(err instanceof InvalidInputError ? 2 : 1);
});
