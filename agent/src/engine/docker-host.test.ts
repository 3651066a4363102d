import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '@archfarm/common';
import { formatDockerHost, parseDockerHost } from './docker-host';

test('parses DOCKER_HOST forms', () => {
  assert.deepEqual(parseDockerHost('unix:///var/run/docker.sock'), { kind: 'unix', socketPath: '/var/run/docker.sock' });
  assert.deepEqual(parseDockerHost('/run/podman/podman.sock'), { kind: 'unix', socketPath: '/run/podman/podman.sock' });
  assert.deepEqual(parseDockerHost('tcp://10.0.0.5:2376'), { kind: 'tcp', host: '10.0.0.5', port: 2376 });
  assert.deepEqual(parseDockerHost('tcp://pi.lan'), { kind: 'tcp', host: 'pi.lan', port: 2375 });
  assert.deepEqual(parseDockerHost('tcp://[::1]:23750'), { kind: 'tcp', host: '::1', port: 23750 });
  assert.equal(formatDockerHost(parseDockerHost('tcp://pi.lan')), 'tcp://pi.lan:2375');
});

test('rejects what it cannot reach, naming the flag', () => {
  for (const bad of ['docker.sock', 'unix://relative.sock', 'ssh://me@host', 'tcp://host:99/path', 'tcp://:12']) {
    assert.throws(() => parseDockerHost(bad), (err: unknown) => err instanceof InvalidInputError && err.field === 'docker-host', bad);
  }
});
