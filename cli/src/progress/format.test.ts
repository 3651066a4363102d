import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildMode, BuildState, JobState } from '@archfarm/proto';
import { buildStateName, formatBytes, jobStateName, modeName } from './format';

test('sizes in decimal units, as docker prints them', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(812), '812 B');
  assert.equal(formatBytes(1_234_567), '1.2 MB');
  assert.equal(formatBytes(999_999), '1.0 MB');
  assert.equal(formatBytes(5e9), '5.0 GB');
});

test('enum names as users read them', () => {
  assert.equal(modeName(BuildMode.BUILD_MODE_NATIVE), 'native');
  assert.equal(modeName(BuildMode.BUILD_MODE_EMULATED), 'emulated');
  assert.equal(jobStateName(JobState.JOB_STATE_RUNNING), 'running');
  assert.equal(buildStateName(BuildState.BUILD_STATE_PUBLISHED), 'published');
});
