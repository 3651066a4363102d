import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { baseImage, makeContext, testRegistry, TestFleet } from '@archfarm/test';
import { docker, DOCKER_CLI } from './lib/docker-cli';
import { Knobs } from './lib/knobs';
import { runMain, say } from './lib/main';
import { publishResult } from './lib/results';
import { median } from './lib/stats';
import { formatMs, formatNumber } from './lib/table';

const NAME = 'e2e';
const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'];

interface Round {
  round: number;
  first: 'farm' | 'manual';
  farmMs: number;
  manualMs: number;
  /** The slowest job's engine build time, from its agent's own "built in" log line. */
  slowestBuildMs: number;
  buildMs: Record<string, number>;
}

async function main(): Promise<void> {
  const knobs = new Knobs();
  const rounds = knobs.int('E2E_ROUNDS', 5, 2);
  const mib = knobs.int('E2E_MIB', 100, 30);
  const startedAt = new Date();
  const registry = testRegistry();
  const repository = `${registry}/bench/e2e-${randomBytes(4).toString('hex')}`;
  const dockerfile = [
    `FROM ${baseImage()}`,
    'ARG NONCE',
    '# CPU-bound: md5 of zeros, under QEMU for every platform but amd64 on this host.',
    `RUN echo "$NONCE" > /nonce && dd if=/dev/zero bs=1M count=${mib} 2>/dev/null | md5sum > /md5`,
    '',
  ].join('\n');
  const context = await makeContext({ Dockerfile: dockerfile });
  say(NAME, 'starting a coordinator and 4 agents (one per platform, all on this engine)');
  const fleet = await TestFleet.start(PLATFORMS.map((p) => ({ name: `e2e-${p.split('/').slice(1).join('-')}`, platforms: p, slots: 1 })));
  const results: Round[] = [];
  try {
    say(NAME, 'warm-up: one untimed manual build per platform (pulls the base image into the engine)');
    await manualRecipe(repository, 'warmup', context, 'warmup');
    for (let round = 1; round <= rounds; round++) {
      const first = round % 2 === 1 ? 'farm' : 'manual';
      let farm = { ms: 0, buildMs: {} as Record<string, number> };
      let manualMs = 0;
      for (const method of first === 'farm' ? ['farm', 'manual'] : ['manual', 'farm']) {
        const nonce = `${method}-${round}-${randomBytes(4).toString('hex')}`;
        if (method === 'farm') farm = await farmBuild(fleet, `${repository}:farm-r${round}`, context, nonce);
        else manualMs = await manualRecipe(repository, `manual-r${round}`, context, nonce);
      }
      const slowestBuildMs = Math.max(...Object.values(farm.buildMs));
      results.push({ round, first, farmMs: farm.ms, manualMs, slowestBuildMs, buildMs: farm.buildMs });
      say(NAME, `round ${round}: farm ${formatMs(farm.ms)}, manual ${formatMs(manualMs)}, slowest job build ${formatMs(slowestBuildMs)}`);
    }
  } finally {
    await fleet.stop();
    await rm(context, { recursive: true, force: true });
  }
  const farmMedian = median(results.map((r) => r.farmMs));
  const manualMedian = median(results.map((r) => r.manualMs));
  const overheads = results.map((r) => r.farmMs - r.slowestBuildMs);
  await publishResult({
    name: NAME,
    title: 'End to end: one 4-platform build, archfarm vs the manual multi-arch recipe on the same engine',
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    settings: knobs.settings(),
    reduced: knobs.reduced,
    table: {
      columns: ['method', `median wall time (${rounds} rounds)`, 'rounds (ms)'],
      rows: [
        ['archfarm build (4 agents, parallel)', formatMs(farmMedian), results.map((r) => r.farmMs).join(', ')],
        ['manual recipe (docker build per platform, push, manifest)', formatMs(manualMedian), results.map((r) => r.manualMs).join(', ')],
        ['speed-up (manual / archfarm)', `${formatNumber(manualMedian / farmMedian)}x`, ''],
        ['farm overhead (end to end − slowest job\'s build, agent-measured)', formatMs(median(overheads)), overheads.join(', ')],
      ],
    },
    notes: [
      `Platforms ${PLATFORMS.join(', ')}. Dockerfile: FROM the loopback base image, then one RUN of \`dd if=/dev/zero bs=1M count=${mib} | md5sum\` (CPU-bound). Each build gets a fresh NONCE build-arg, so nothing comes from cache.`,
      'On this one host every agent shares the same dockerd and QEMU: amd64 is native, the other three are emulated. The farm\'s gain here comes only from running the 4 platforms at once (2 cores); on a fleet with native arm64/arm/s390x machines the emulated jobs would also run at native speed.',
      `archfarm: \`archfarm build --platform ${PLATFORMS.join(',')} -t ${repository}:farm-rN --build-arg NONCE=... --output json CONTEXT\` (wall time of the CLI process: tar and upload of the context, scheduling, 4 agents building in parallel, pushes by digest, the coordinator's checks and index), 4 agents (one per platform, 1 slot each) on this host's dockerd.`,
      `manual recipe (Docker's multi-arch guide, one engine, platforms in turn): for each platform \`DOCKER_BUILDKIT=1 ${DOCKER_CLI} build --platform P --build-arg NONCE=... -t ${repository}:manual-rN-ARCH CONTEXT\` then \`${DOCKER_CLI} push\` of that tag; then \`${DOCKER_CLI} manifest create --insecure ${repository}:manual-rN <the 4 tags>\` and \`${DOCKER_CLI} manifest push --insecure ${repository}:manual-rN\`.`,
      'Rounds alternate which method goes first; an untimed warm-up manual build pulls the base image for every platform first. The overhead is per round: archfarm\'s wall time minus the slowest job\'s engine build time as its agent logged it ("archfarm: built in ..."), i.e. everything the farm adds around the builds (CLI, upload, placement, context fetch, push, merge, reporting).',
    ],
    data: { rounds: results, farmMedianMs: farmMedian, manualMedianMs: manualMedian, overheadMedianMs: median(overheads), mib },
  });
}

/** `archfarm build` of all four platforms; its wall time and each job's agent-measured build time. */
async function farmBuild(fleet: TestFleet, tag: string, context: string, nonce: string): Promise<{ ms: number; buildMs: Record<string, number> }> {
  const start = Date.now();
  const res = await fleet.cli(['build', '--platform', PLATFORMS.join(','), '-t', tag, '--build-arg', `NONCE=${nonce}`, '--output', 'json', context]);
  const ms = Date.now() - start;
  if (res.code !== 0) throw new Error(`archfarm build failed (${res.code}): ${res.stderr.slice(-3000)}`);
  const list = await fleet.cli(['builds', '--output', 'json']);
  const build = (JSON.parse(list.stdout) as Array<{ buildId: string; tag: string }>).find((b) => b.tag === tag);
  if (!build) throw new Error(`build ${tag} not in \`archfarm builds\``);
  const logs = await fleet.cli(['logs', build.buildId]);
  const buildMs: Record<string, number> = {};
  for (const match of logs.stdout.matchAll(/^\[([^\]]+)\] archfarm: built in ([\d.]+) s/gm)) buildMs[match[1]!] = Math.round(Number(match[2]) * 1000);
  if (Object.keys(buildMs).length !== PLATFORMS.length) throw new Error(`expected a "built in" line per platform in the job logs, got ${JSON.stringify(buildMs)}`);
  return { ms, buildMs };
}

/** Docker's manual multi-arch recipe on the same engine; returns its wall time. */
async function manualRecipe(repository: string, tagBase: string, context: string, nonce: string): Promise<number> {
  const start = Date.now();
  const tags: string[] = [];
  for (const platform of PLATFORMS) {
    const tag = `${repository}:${tagBase}-${platform.split('/').slice(1).join('-')}`;
    await docker(['build', '--platform', platform, '--build-arg', `NONCE=${nonce}`, '-t', tag, context], { DOCKER_BUILDKIT: '1' });
    await docker(['push', tag]);
    tags.push(tag);
  }
  await docker(['manifest', 'create', '--insecure', `${repository}:${tagBase}`, ...tags]);
  await docker(['manifest', 'push', '--insecure', `${repository}:${tagBase}`]);
  const ms = Date.now() - start;
  await docker(['rmi', ...tags]).catch(() => undefined);
  return ms;
}

runMain(NAME, main);
