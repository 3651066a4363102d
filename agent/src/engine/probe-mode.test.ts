import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform } from '@archfarm/common';
import { probeMode } from './probe-mode';

/** engine, platform probed, uname -m the probe printed ('-' for none), the mode it must get. */
const TABLE: Array<[string, string, string, 'native' | 'emulated']> = [
  // arm64 kernels run AArch32 themselves where the CPU has it; qemu-arm names at most ARMv7.
  ['linux/arm64', 'linux/arm/v7', 'aarch64', 'native'], // dockerd/BuildKit: no linux32 personality
  ['linux/arm64', 'linux/arm/v7', 'armv8l', 'native'], // under linux32
  ['linux/arm64', 'linux/arm/v6', 'aarch64', 'native'],
  ['linux/arm64', 'linux/arm/v7', 'armv7l', 'emulated'], // qemu-arm registered in binfmt_misc, or a CPU without AArch32
  ['linux/arm64', 'linux/arm/v6', 'armv7l', 'emulated'],
  ['linux/arm64', 'linux/arm/v7', '-', 'emulated'], // no proof
  ['linux/arm64', 'linux/arm/v7', 'x86_64', 'emulated'], // nonsense is not proof either
  // x86: the i386 compat layer answers x86_64; qemu-i386 answers i686, as linux32 would.
  ['linux/amd64', 'linux/386', 'x86_64', 'native'],
  ['linux/amd64', 'linux/386', 'i686', 'emulated'],
  ['linux/amd64', 'linux/386', '-', 'emulated'],
  // The engine's own architecture, any variant: the kernel runs it (an armv7 machine reports armv7l).
  ['linux/arm/v7', 'linux/arm/v6', 'armv7l', 'native'],
  ['linux/arm/v7', 'linux/arm/v7', '-', 'native'],
  ['linux/amd64', 'linux/amd64/v2', '-', 'native'],
  ['linux/arm64', 'linux/arm64', '-', 'native'],
  // Other CPUs: only an emulator runs them, whatever they print.
  ['linux/amd64', 'linux/arm/v7', 'armv7l', 'emulated'],
  ['linux/amd64', 'linux/arm/v7', 'aarch64', 'emulated'], // qemu-arm on x86_64 never says so, but an x86 kernel cannot run arm code
  ['linux/amd64', 'linux/arm64', 'aarch64', 'emulated'],
  ['linux/arm64', 'linux/amd64', 'x86_64', 'emulated'],
  ['linux/arm64', 'linux/386', 'i686', 'emulated'],
  ['linux/arm/v7', 'linux/arm64', 'aarch64', 'emulated'], // a 32-bit kernel runs no 64-bit code
  ['linux/s390x', 'linux/ppc64le', '-', 'emulated'],
];

for (const [engine, platform, machine, want] of TABLE) {
  test(`${platform} on a ${engine} engine, uname -m ${machine}: ${want}`, () => {
    const decision = probeMode({ engine: Platform.parse(engine), platform: Platform.parse(platform), machine: machine === '-' ? undefined : machine });
    assert.equal(decision.mode, want, decision.reason);
    assert.ok(decision.reason.length > 0);
  });
}

test('the reason names what uname -m said', () => {
  const arm = (machine: string) => probeMode({ engine: Platform.parse('linux/arm64'), platform: Platform.parse('linux/arm/v7'), machine });
  assert.match(arm('aarch64').reason, /uname -m in the probe said aarch64: the arm64 kernel ran the code itself/);
  assert.match(arm('armv7l').reason, /said armv7l, not aarch64 or armv8l: an emulator/);
});
