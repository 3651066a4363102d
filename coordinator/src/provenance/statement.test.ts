import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARCHFARM_VERSION, ImageRef, parseStatement, Platform, statementBytes } from '@archfarm/common';
import { provenanceStatement, type PlatformProvenanceInput } from './statement';

const digest = (c: string): string => `sha256:${c.repeat(64)}`;

function input(overrides: Partial<PlatformProvenanceInput> = {}): PlatformProvenanceInput {
  return {
    buildId: 'b7',
    coordinatorId: 'ab'.repeat(32),
    target: ImageRef.parse('127.0.0.1:5000/team/app:1.4'),
    platform: Platform.parse('linux/arm/v7'),
    manifestDigest: digest('1'),
    spec: { contextDigest: digest('2'), dockerfile: 'docker/Dockerfile', target: 'app', buildArgs: { VERSION: '1.4', TOKEN: 'x' }, secretIds: ['TOKEN'], crossCompile: false },
    attempt: { agent: 'pi-1', mode: 'native', startedAt: Date.UTC(2026, 11, 4, 10, 0, 0), endedAt: Date.UTC(2026, 11, 4, 10, 1, 30), attempts: 2, bases: [{ ref: '127.0.0.1:5000/base:1', digest: digest('3') }] },
    machine: { certificateFingerprint: `sha256:${'c'.repeat(64)}`, engineName: 'docker', engineVersion: '26.1.5', cpu: 'aarch64', kernel: '6.6.31' },
    ...overrides,
  };
}

test('the statement names the platform manifest, the build, the agent and its machine, the bases and the times', () => {
  const statement = provenanceStatement(input());
  assert.deepEqual(statement.subject, [{ name: 'pkg:docker/127.0.0.1:5000/team/app@1.4?platform=linux%2Farm%2Fv7', digest: { sha256: '1'.repeat(64) } }]);
  const { buildDefinition, runDetails } = statement.predicate;
  assert.deepEqual(buildDefinition.externalParameters, {
    platform: 'linux/arm/v7',
    context: { digest: digest('2') },
    dockerfile: 'docker/Dockerfile',
    target: 'app',
    // TOKEN is also a --secret id: left out.
    buildArgs: { VERSION: '1.4' },
  });
  assert.deepEqual(buildDefinition.internalParameters.archfarm, {
    mode: 'native',
    agent: { name: 'pi-1', certificateFingerprint: `sha256:${'c'.repeat(64)}`, engine: 'docker', engineVersion: '26.1.5', cpu: 'aarch64', kernel: '6.6.31' },
    attempts: 2,
  });
  assert.deepEqual(buildDefinition.resolvedDependencies, [{ uri: 'pkg:docker/127.0.0.1:5000/base:1?platform=linux%2Farm%2Fv7', digest: { sha256: '3'.repeat(64) }, annotations: { stage: '' } }]);
  assert.deepEqual(runDetails, {
    builder: { id: `https://archfarm.dev/coordinator/${'ab'.repeat(32)}`, version: { archfarm: ARCHFARM_VERSION } },
    metadata: { invocationId: 'b7', startedOn: '2026-12-04T10:00:00.000Z', finishedOn: '2026-12-04T10:01:30.000Z' },
  });
  // What a reader parses back: in-toto v1 with an SLSA provenance v1 predicate.
  assert.equal(parseStatement(statementBytes(statement)).subject[0]?.digest.sha256, '1'.repeat(64));
});

test('a git context is recorded with its commit instead of the tar digest', () => {
  const git = { url: 'https://git.example/app.git', ref: 'v1.4', subdir: 'docker', commit: 'f'.repeat(40) };
  const statement = provenanceStatement(input({ spec: { ...input().spec, git } }));
  assert.deepEqual(statement.predicate.buildDefinition.externalParameters.context, { git });
});

test('emulated is emulated, or cross-compiled when the Dockerfile cross-compiles; native stays native', () => {
  const mode = (m: 'native' | 'emulated', crossCompile: boolean) =>
    provenanceStatement(input({ attempt: { ...input().attempt, mode: m }, spec: { ...input().spec, crossCompile } })).predicate.buildDefinition.internalParameters.archfarm.mode;
  assert.equal(mode('emulated', false), 'emulated');
  assert.equal(mode('emulated', true), 'cross-compiled');
  assert.equal(mode('native', true), 'native');
});

test('what the farm does not know is "" and never invented', () => {
  const statement = provenanceStatement(input({ machine: undefined, attempt: { ...input().attempt, startedAt: undefined, endedAt: undefined, bases: [] } }));
  assert.deepEqual(statement.predicate.buildDefinition.internalParameters.archfarm.agent, { name: 'pi-1', certificateFingerprint: '', engine: '', engineVersion: '', cpu: '', kernel: '' });
  assert.deepEqual(statement.predicate.runDetails.metadata, { invocationId: 'b7', startedOn: '', finishedOn: '' });
  assert.deepEqual(statement.predicate.buildDefinition.resolvedDependencies, []);
});

test('the same records give the same bytes', () => {
  assert.deepEqual(statementBytes(provenanceStatement(input())), statementBytes(provenanceStatement(input())));
});
