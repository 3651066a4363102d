import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform } from '@archfarm/common';
import { randomBytes } from 'node:crypto';
import { DockerEngine, probePlatforms } from '@archfarm/agent';
import { dockerApi, DOCKER_SOCKET, requireDocker } from './support/docker';

before(async () => {
  await requireDocker();
});

/*
 * This host's dockerd runs arm64, arm/v7, s390x and ppc64le code under QEMU (binfmt_misc, from
 * qemu-user-static) and i386 code itself: Debian registers no qemu-i386 on amd64, so the x86_64
 * kernel's compat layer runs it. The arm and 386 probe programs print uname -m, and the mode
 * comes from what they printed: qemu-arm says armv7l (emulated), the kernel x86_64 (native).
 */
test('the probe finds amd64 and 386 native, the QEMU platforms emulated, by what ran its code; it leaves no images', async () => {
  const engine = new DockerEngine({ host: { kind: 'unix', socketPath: DOCKER_SOCKET } });
  const candidates = Platform.parseList('linux/amd64,linux/arm64,linux/arm/v7,linux/s390x,linux/ppc64le,linux/386');
  const started = Date.now();
  const repository = `archfarm-test/probe-${randomBytes(4).toString('hex')}`;
  const found = await probePlatforms(engine, candidates, { repository });
  const seconds = (Date.now() - started) / 1000;
  assert.deepEqual(
    found.map((f) => [f.platform.toString(), f.mode, f.machine ?? '-'].join(' ')),
    ['linux/amd64 native -', 'linux/arm64 emulated -', 'linux/arm/v7 emulated armv7l', 'linux/s390x emulated -', 'linux/ppc64le emulated -', 'linux/386 native x86_64'],
  );
  const reason = (p: string) => found.find((f) => f.platform.toString() === p)!.reason;
  assert.match(reason('linux/arm/v7'), /a linux\/amd64 kernel cannot run arm code itself/);
  assert.match(reason('linux/386'), /uname -m in the probe said x86_64: the amd64 kernel ran the code itself/);
  for (const f of found) console.log(`${f.platform.toString()}: ${f.mode} (${f.reason})`);
  const images = (await dockerApi('GET', '/images/json')).json<Array<{ RepoTags?: string[] | null }>>();
  const left = images.flatMap((i) => i.RepoTags ?? []).filter((t) => t.startsWith(`${repository}:`));
  assert.deepEqual(left, [], 'probe images removed');
  console.log(`probe of ${candidates.length} platforms: ${seconds.toFixed(1)} s`);
});
