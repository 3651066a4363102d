import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform } from '@archfarm/common';
import { pickAgent, rankAgents, waitingReason, type AgentView } from './scheduler';

const p = (s: string) => Platform.parse(s);
const amd64 = p('linux/amd64');
const arm64 = p('linux/arm64');

const x86 = (name: string, busy = 0): AgentView => ({
  name,
  slots: 2,
  busy,
  platforms: [
    { platform: amd64, mode: 'native' },
    { platform: arm64, mode: 'emulated' },
  ],
});
const pi: AgentView = { name: 'pi-1', slots: 1, busy: 0, platforms: [{ platform: arm64, mode: 'native' }] };

test('native agents come before emulating ones, even with fewer free slots', () => {
  assert.deepEqual(pickAgent(arm64, [x86('a'), pi]), { agent: 'pi-1', mode: 'native' });
  assert.deepEqual(
    rankAgents(arm64, [x86('a'), pi]).map((c) => c.agent),
    ['pi-1', 'a'],
  );
});

test('falls back to emulation when the native agent is full', () => {
  assert.deepEqual(pickAgent(arm64, [x86('a'), { ...pi, busy: 1 }]), { agent: 'a', mode: 'emulated' });
});

test('spreads jobs to the agent with the most free slots', () => {
  assert.equal(pickAgent(amd64, [x86('a', 1), x86('b', 0)])?.agent, 'b');
  assert.equal(pickAgent(amd64, [x86('a', 0), x86('b', 0)])?.agent, 'a');
});

test('avoids agents that failed the job when another can take it', () => {
  assert.equal(pickAgent(amd64, [x86('a'), x86('b')], new Set(['a']))?.agent, 'b');
  assert.equal(pickAgent(amd64, [x86('a')], new Set(['a']))?.agent, 'a');
});

test('explains why a platform waits', () => {
  assert.match(waitingReason(p('linux/s390x'), [x86('a')]), /no connected agent builds linux\/s390x.*a: linux\/amd64, linux\/arm64/);
  assert.match(waitingReason(amd64, [x86('a', 2)]), /all agents that build linux\/amd64 are busy: a \(native\)/);
  assert.match(waitingReason(amd64, []), /no agent is connected/);
  assert.equal(pickAgent(amd64, [x86('a', 2)]), undefined);
});
