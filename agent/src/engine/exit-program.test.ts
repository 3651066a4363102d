import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { machine, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Platform } from '@archfarm/common';
import { exitProgram, canProbe, UNAME_MARKER } from './exit-program';
import { UnprobeablePlatformError } from './errors';

/**
 * What `readelf -h` would say, per platform: class, data, e_machine, e_flags; and, for the
 * programs that print `uname -m`, what QEMU (qemu-user 7.2) makes it say.
 */
const EXPECTED: Record<string, { bits: 32 | 64; bigEndian: boolean; machine: number; flags: number; qemu: string; qemuUname?: string }> = {
  'linux/amd64': { bits: 64, bigEndian: false, machine: 62, flags: 0, qemu: 'x86_64' },
  'linux/386': { bits: 32, bigEndian: false, machine: 3, flags: 0, qemu: 'i386', qemuUname: 'i686' },
  'linux/arm64': { bits: 64, bigEndian: false, machine: 183, flags: 0, qemu: 'aarch64' },
  'linux/arm/v6': { bits: 32, bigEndian: false, machine: 40, flags: 0x05000000, qemu: 'arm', qemuUname: 'armv7l' },
  'linux/arm/v7': { bits: 32, bigEndian: false, machine: 40, flags: 0x05000000, qemu: 'arm', qemuUname: 'armv7l' },
  'linux/s390x': { bits: 64, bigEndian: true, machine: 22, flags: 0, qemu: 's390x' },
  'linux/ppc64le': { bits: 64, bigEndian: false, machine: 21, flags: 2, qemu: 'ppc64le' },
  'linux/riscv64': { bits: 64, bigEndian: false, machine: 243, flags: 4, qemu: 'riscv64' },
};

function header(elf: Buffer) {
  const bits = elf[4] === 2 ? 64 : 32;
  const bigEndian = elf[5] === 2;
  const u16 = (o: number) => (bigEndian ? elf.readUInt16BE(o) : elf.readUInt16LE(o));
  const u32 = (o: number) => (bigEndian ? elf.readUInt32BE(o) : elf.readUInt32LE(o));
  const word = (o: number) => (bits === 32 ? u32(o) : Number(bigEndian ? elf.readBigUInt64BE(o) : elf.readBigUInt64LE(o)));
  const flagsAt = bits === 64 ? 48 : 36;
  const phoff = word(bits === 64 ? 32 : 28);
  return {
    magic: elf.subarray(0, 4).toString('latin1'), bits, bigEndian, type: u16(16), machine: u16(18), entry: word(24), phoff,
    flags: u32(flagsAt), phnum: u16(flagsAt + 8), ptype: u32(phoff), filesz: word(phoff + (bits === 64 ? 32 : 16)),
  };
}

for (const [name, want] of Object.entries(EXPECTED)) {
  test(`${name}: ELF header names the right CPU and ABI`, () => {
    const elf = exitProgram(Platform.parse(name));
    const h = header(elf);
    assert.equal(h.magic, '\x7fELF');
    const { bits, bigEndian, machine: cpu, flags } = want;
    assert.deepEqual({ bits: h.bits, bigEndian: h.bigEndian, machine: h.machine, flags: h.flags }, { bits, bigEndian, machine: cpu, flags });
    assert.equal(h.type, 2, 'ET_EXEC');
    assert.equal(h.phnum, 1);
    assert.equal(h.ptype, 1, 'PT_LOAD');
    assert.equal(h.filesz, elf.length, 'the load segment maps the whole file');
    assert.ok(elf.length < 256, `tiny: ${elf.length} bytes`);
  });
}

test('refuses a CPU without a program', () => {
  const mips = Platform.parse('linux/mips64le');
  assert.equal(canProbe(mips), false);
  assert.throws(() => exitProgram(mips), UnprobeablePlatformError);
});

/** A binfmt_misc handler that is registered and enabled, so the kernel will run that CPU's ELF. */
function binfmtEnabled(qemu: string): boolean {
  const entry = `/proc/sys/fs/binfmt_misc/qemu-${qemu}`;
  return existsSync(entry) && readFileSync(entry, 'utf8').startsWith('enabled');
}

const native = Platform.fromUname(machine()).toString();
for (const [name, want] of Object.entries(EXPECTED)) {
  const isNative = name === native || (native === 'linux/amd64' && name === 'linux/386');
  const runnable = isNative || binfmtEnabled(want.qemu);
  const skip = runnable ? false : `neither native (${native}) nor a qemu-${want.qemu} binfmt handler`;
  // binfmt_misc goes first: with a handler registered, QEMU runs the program even where the kernel could.
  const unameM = want.qemuUname === undefined ? undefined : binfmtEnabled(want.qemu) ? want.qemuUname : machine();
  const prints = unameM === undefined ? 'nothing' : `uname -m (${unameM})`;
  test(`${name}: the program runs, prints ${prints} and exits 0`, { skip }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'exit-program-'));
    try {
      const file = join(dir, 'probe');
      writeFileSync(file, exitProgram(Platform.parse(name)), { mode: 0o755 });
      const run = spawnSync(file, { timeout: 10_000 });
      assert.equal(run.error, undefined);
      assert.equal(run.signal, null);
      assert.equal(run.status, 0);
      assert.equal(run.stdout.toString('latin1'), unameM === undefined ? '' : `${UNAME_MARKER}${unameM}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
