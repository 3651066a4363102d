import type { Command } from 'commander';
import type { GetKeyResponse } from '@archfarm/proto';
import { connectProvenanceService } from '../client';
import type { CommandContext } from '../command-context';
import { connect } from '../connection';
import type { ConnectionFlags } from '../connection-settings';
import { writeLine } from '../io';
import { choiceOption } from '../option-choices';
import { OUTPUT_CHOICES, parseChoice } from '../options';

const KEY_EXAMPLES = `
Examples:
  archfarm provenance key > farm.pub.pem
  archfarm provenance key --output json | jq -r .keyid

Prints the public key (SPKI PEM) the coordinator signs provenance attestations with: each
platform's in-toto statement is in a DSSE envelope whose signature's keyid is this key's.
Give it to \`archfarm verify --key\`, or to any DSSE verifier. Any token role may ask.`;

interface KeyFlags extends ConnectionFlags {
  output?: string;
}

/** What `archfarm provenance key --output json` prints. */
export interface ProvenanceKeyJson {
  keyid: string;
  publicKeyPem: string;
}

/** `archfarm provenance key`. */
export function addProvenanceCommand(program: Command, ctx: CommandContext): void {
  const provenance = program
    .command('provenance')
    .description('the signed provenance the coordinator publishes with each image')
    .addHelpText('after', '\nExamples:\n  archfarm provenance key > farm.pub.pem\n  archfarm verify 127.0.0.1:5000/hello:1 --key farm.pub.pem');
  provenance
    .command('key')
    .description("print the coordinator's provenance public key (PEM)")
    .addOption(choiceOption('--output <format>', 'text (the PEM) or json (default: text)', OUTPUT_CHOICES))
    .addHelpText('after', KEY_EXAMPLES)
    .action((_flags: unknown, cmd: Command) => runProvenanceKey(cmd.optsWithGlobals<KeyFlags>(), ctx));
}

export async function runProvenanceKey(flags: KeyFlags, ctx: CommandContext): Promise<void> {
  const output = parseChoice(flags.output ?? 'text', OUTPUT_CHOICES, '--output');
  const answer = await fetchProvenanceKey(flags, ctx);
  if (output === 'json') writeLine(ctx.io.stdout, JSON.stringify(answer, null, 2));
  else ctx.io.stdout.write(answer.publicKeyPem.endsWith('\n') ? answer.publicKeyPem : `${answer.publicKeyPem}\n`);
}

/** The coordinator's key, as GetKey answers it (also for `archfarm verify` without --key). */
export async function fetchProvenanceKey(flags: ConnectionFlags, ctx: CommandContext): Promise<ProvenanceKeyJson> {
  const conn = await connect(flags, ctx);
  const client = connectProvenanceService(conn);
  try {
    const answer: GetKeyResponse = await client.getKey({});
    return { keyid: answer.keyid, publicKeyPem: answer.publicKeyPem };
  } finally {
    client.close();
  }
}
