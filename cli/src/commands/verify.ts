import type { Command } from 'commander';
import { HostPort, ImageRef, Platform, RegistryClient } from '@archfarm/common';
import type { CommandContext } from '../command-context';
import type { ConnectionFlags } from '../connection-settings';
import { writeLine } from '../io';
import { choiceOption } from '../option-choices';
import { collect, OUTPUT_CHOICES, parseChoice } from '../options';
import { dockerRegistryAuth } from './build-registry-auth';
import { decideVerify } from './verify-decide';
import { VerificationFailedError } from './verify-errors';
import { fetchVerifyMaterial } from './verify-fetch';
import { keyFromCoordinator, keyFromFile } from './verify-key';
import { verifyText } from './verify-output';
import type { VerifyReportJson } from './verify-report';

const EXAMPLES = `
Examples:
  archfarm verify 127.0.0.1:5000/hello:1
  archfarm verify reg.example/app:1.4 --key coordinator.pub.pem --require-native linux/s390x
  archfarm provenance key > coordinator.pub.pem   # once; then verify offline with --key
  archfarm verify reg.example/app:1.4 --output json | jq -r '.platforms[] | "\\(.platform) \\(.mode) \\(.agent)"'

Reads REF's index from its registry (plain HTTP for loopback and --insecure-registry; the
login is your Docker config's, as docker pull's) and, per platform manifest, the attestation
manifest whose vnd.docker.reference.digest names it. Each must carry a DSSE envelope that the
key signed over exactly its in-toto statement, an SLSA provenance v1 statement whose subject
is that manifest. Prints per platform: OK or FAILED, the agent that built it and how (native,
emulated, cross-compiled), the context (digest, or git url#ref and commit) and the base
images' digests. Without --key it asks the coordinator for its key (any token will do).
Exit status:
  0  every platform verified, and every --require-native platform was built natively
  7  a signature is missing or wrong, a statement is not its image's, or a --require-native
     platform was emulated, cross-compiled or is missing: each is named
  1  the registry could not be read (2: bad input, e.g. a --key that is no public key)`;

interface VerifyFlags extends ConnectionFlags {
  key?: string;
  requireNative?: string[];
  insecureRegistry?: string[];
  output?: string;
}

/** `archfarm verify REF`: checks the signed provenance of every platform of a published image. */
export function addVerifyCommand(program: Command, ctx: CommandContext): void {
  program
    .command('verify')
    .description("check REF's signed provenance: per platform the agent, mode (native or emulated), bases and context")
    .argument('<REF>', 'the image index, registry/repository:tag or @sha256:...')
    .option('--key <file>', "the coordinator's public key, PEM (`archfarm provenance key`); default: ask the coordinator")
    .option('--require-native <os/arch[/variant],...>', 'fail unless this platform was built natively; repeat or comma-separate', collect)
    .option('--insecure-registry <host:port>', "reach this registry over plain HTTP (repeatable; loopback always is)", collect)
    .addOption(choiceOption('--output <format>', 'text or json (default: text)', OUTPUT_CHOICES))
    .addHelpText('after', EXAMPLES)
    .action((ref: string, _flags: unknown, cmd: Command) => runVerify(ref, cmd.optsWithGlobals<VerifyFlags>(), ctx));
}

export async function runVerify(refArg: string, flags: VerifyFlags, ctx: CommandContext): Promise<void> {
  const output = parseChoice(flags.output ?? 'text', OUTPUT_CHOICES, '--output');
  const ref = ImageRef.parse(refArg, 'REF');
  const requireNative = Platform.parseList((flags.requireNative ?? []).join(','), '--require-native');
  const insecure = (flags.insecureRegistry ?? []).map((r) => HostPort.parse(r, '--insecure-registry', { portOptional: true, example: 'reg.lan:5000' }).toString());
  const key = flags.key !== undefined ? await keyFromFile(flags.key, ctx.io.cwd) : await keyFromCoordinator(flags, ctx);
  const login = dockerRegistryAuth(ref, ctx.io.env);
  const client = new RegistryClient(ref.registry, {
    insecure: ref.isLoopback || insecure.includes(ref.registry),
    credentials: login && { username: login.username, password: login.password },
    userAgent: 'archfarm-cli',
  });
  const report = decideVerify(await fetchVerifyMaterial(client, ref), { key, requireNative });
  if (output === 'json') writeLine(ctx.io.stdout, JSON.stringify(report, null, 2));
  else for (const line of verifyText(report)) writeLine(ctx.io.stdout, line);
  if (!report.verified) throw new VerificationFailedError(report.ref, failures(report));
}

/** One phrase per failing platform (and per --require-native platform REF lacks), for the error line. */
function failures(report: VerifyReportJson): string[] {
  const platforms = report.platforms.filter((p) => p.problems.length > 0).map((p) => `${p.platform} (${[...new Set(p.problems.map((q) => q.code))].join(', ')})`);
  return [...platforms, ...report.problems.map((q) => q.message)];
}
