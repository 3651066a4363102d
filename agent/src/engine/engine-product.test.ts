import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineIdentity, localImageName } from './engine-product';

// Trimmed from real answers: dockerd 20.10.24 and podman 4.3.1 (`podman system service`).
const DOCKERD = {
  Platform: { Name: '' },
  Components: [
    { Name: 'Engine', Version: '20.10.24+dfsg1' },
    { Name: 'containerd', Version: '1.6.20~ds1' },
    { Name: 'runc', Version: '1.1.5+ds1' },
    { Name: 'docker-init', Version: '0.19.0' },
  ],
  Version: '20.10.24+dfsg1',
  ApiVersion: '1.41',
};
const PODMAN = {
  Platform: { Name: 'linux/amd64/debian-12' },
  Components: [
    { Name: 'Podman Engine', Version: '4.3.1', Details: { APIVersion: '4.3.1' } },
    { Name: 'Conmon', Version: 'conmon version 2.1.6, commit: unknown' },
    { Name: 'OCI Runtime (runc)', Version: 'runc version 1.1.5+ds1' },
  ],
  Version: '4.3.1',
  ApiVersion: '1.41',
};

test('tells podman from dockerd by the components of /version', () => {
  assert.deepEqual(engineIdentity(DOCKERD), { product: 'docker', version: '20.10.24+dfsg1' });
  assert.deepEqual(engineIdentity(PODMAN), { product: 'podman', version: '4.3.1' });
});

test('an answer without components is dockerd (older engines send none)', () => {
  assert.deepEqual(engineIdentity({ Version: '19.03.1' }), { product: 'docker', version: '19.03.1' });
  assert.deepEqual(engineIdentity({ Components: null }), { product: 'docker', version: 'unknown' });
  assert.deepEqual(engineIdentity({ Components: [{ Name: 42 }], Version: 7 }), { product: 'docker', version: 'unknown' });
});

test('podman gets local names under localhost/; ids, qualified names and dockerd are left alone', () => {
  assert.equal(localImageName('archfarm-job/abc:1', 'podman'), 'localhost/archfarm-job/abc:1');
  assert.equal(localImageName('archfarm-probe:linux-arm64-1a2b', 'podman'), 'localhost/archfarm-probe:linux-arm64-1a2b');
  assert.equal(localImageName('localhost/archfarm-job/abc:1', 'podman'), 'localhost/archfarm-job/abc:1');
  assert.equal(localImageName('127.0.0.1:5000/app:1', 'podman'), '127.0.0.1:5000/app:1');
  assert.equal(localImageName('reg.example/team/app:1', 'podman'), 'reg.example/team/app:1');
  const id = `sha256:${'ab'.repeat(32)}`;
  assert.equal(localImageName(id, 'podman'), id);
  assert.equal(localImageName('b91fd56bab90', 'podman'), 'b91fd56bab90');
  assert.equal(localImageName('archfarm-job/abc:1', 'docker'), 'archfarm-job/abc:1');
});
