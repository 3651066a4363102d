import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform } from '@archfarm/common';
import { randomBytes } from 'node:crypto';
import { DockerEngine, probePlatforms } from '@archfarm/agent';
import { dockerApi, DOCKER_SOCKET, requireDocker } from './support/docker';

before(async () => {
  await requireDocker();
});

test('the probe finds amd64 native and the QEMU platforms emulated, leaving no images', async () => {
  const engine = new DockerEngine({ host: { kind: 'unix', socketPath: DOCKER_SOCKET } });
  const candidates = Platform.parseList('linux/amd64,linux/arm64,linux/arm/v7,linux/s390x,linux/ppc64le');
  const started = Date.now();
  const repository = `archfarm-test/probe-${randomBytes(4).toString('hex')}`;
  const found = await probePlatforms(engine, candidates, { repository });
  const seconds = (Date.now() - started) / 1000;
  assert.deepEqual(
    found.map((f) => `${f.platform.toString()} ${f.mode}`),
    ['linux/amd64 native', 'linux/arm64 emulated', 'linux/arm/v7 emulated', 'linux/s390x emulated', 'linux/ppc64le emulated'],
  );
  const images = (await dockerApi('GET', '/images/json')).json<Array<{ RepoTags?: string[] | null }>>();
  const left = images.flatMap((i) => i.RepoTags ?? []).filter((t) => t.startsWith(`${repository}:`));
  assert.deepEqual(left, [], 'probe images removed');
  console.log(`probe of ${candidates.length} platforms: ${seconds.toFixed(1)} s`);
});
