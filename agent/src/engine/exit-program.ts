import type { Platform } from '@archfarm/common';
import { UnprobeablePlatformError } from './errors';

/*
 * Tiny static Linux executables that only call exit(0), one per CPU. The capability probe runs
 * one inside a `FROM scratch` build for a platform: if the engine's executor can start it
 * (natively or through a QEMU binfmt handler), the agent can build for that platform. A
 * registered binfmt entry proves nothing by itself (wrong interpreter path, missing F flag).
 *
 * No npm package makes per-CPU executables, and a compiler or a cross toolchain is far too
 * much to carry to a Pi or an LPAR, so the few bytes are assembled here by hand. BuildKit's
 * util/archutil does the same for its emulator detection; these bytes are our own, each
 * instruction is encoded below from the CPU's manual and explained.
 *
 * Layout: ELF header, one PT_LOAD program header mapping the whole file read+execute, then
 * the code; the entry point is the first instruction. No section headers are needed to run.
 */

interface Cpu {
  bits: 32 | 64;
  bigEndian: boolean;
  /** e_machine. */
  machine: number;
  /** e_flags: the ABI the loader expects. */
  flags: number;
  code: Buffer;
}

/** Fixed-width (32-bit) RISC instructions, in the CPU's byte order. */
function words(bigEndian: boolean, ...instructions: number[]): Buffer {
  const buf = Buffer.alloc(4 * instructions.length);
  instructions.forEach((w, i) => (bigEndian ? buf.writeUInt32BE(w, 4 * i) : buf.writeUInt32LE(w, 4 * i)));
  return buf;
}

const CPUS: Record<string, Cpu> = {
  amd64: {
    bits: 64, bigEndian: false, machine: 62, flags: 0, // EM_X86_64
    code: Buffer.from([
      0xb8, 0x3c, 0x00, 0x00, 0x00, // mov eax, 60   ; exit in the x86_64 syscall table
      0x31, 0xff, //                   xor edi, edi  ; status 0 (first argument: rdi)
      0x0f, 0x05, //                   syscall
    ]),
  },
  '386': {
    bits: 32, bigEndian: false, machine: 3, flags: 0, // EM_386
    code: Buffer.from([
      0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1    ; exit in the i386 syscall table
      0x31, 0xdb, //                   xor ebx, ebx  ; status 0 (first argument: ebx)
      0xcd, 0x80, //                   int 0x80      ; the i386 syscall gate
    ]),
  },
  arm64: {
    bits: 64, bigEndian: false, machine: 183, flags: 0, // EM_AARCH64
    code: words(false,
      0xd2800ba8, // movz x8, #93  ; exit in the generic syscall table, number in x8
      0xd2800000, // movz x0, #0   ; status 0
      0xd4000001, // svc #0
    ),
  },
  // One program for every arm variant: these A32 encodings are the same from ARMv5 to ARMv8.
  arm: {
    bits: 32, bigEndian: false, machine: 40, flags: 0x05000000, // EM_ARM, EABI version 5 (the kernel refuses old-ABI binaries)
    code: words(false,
      0xe3a07001, // mov r7, #1  ; exit; with EABI the syscall number goes in r7
      0xe3a00000, // mov r0, #0  ; status 0
      0xef000000, // svc #0
    ),
  },
  s390x: {
    bits: 64, bigEndian: true, machine: 22, flags: 0, // EM_S390, big-endian
    code: Buffer.from([
      0xa7, 0x29, 0x00, 0x00, // lghi %r2, 0  ; status 0 (first argument: r2)
      0x0a, 0x01, //             svc 1        ; exit: syscall numbers below 256 ride in the SVC immediate
    ]),
  },
  ppc64le: {
    // e_flags 2 = ELFv2 ABI: the entry point is code; under ELFv1 it would be a function descriptor.
    bits: 64, bigEndian: false, machine: 21, flags: 2, // EM_PPC64
    code: words(false,
      0x38000001, // li r0, 1  (addi r0, 0, 1)  ; exit, syscall number in r0
      0x38600000, // li r3, 0  (addi r3, 0, 0)  ; status 0 (first argument: r3)
      0x44000002, // sc
    ),
  },
  riscv64: {
    bits: 64, bigEndian: false, machine: 243, flags: 0x4, // EM_RISCV, float ABI "double" (lp64d, as Debian)
    code: words(false,
      0x05d00893, // addi a7, zero, 93  ; exit in the generic table, number in a7
      0x00000513, // addi a0, zero, 0   ; status 0
      0x00000073, // ecall
    ),
  },
};

/** Where the file is mapped: above mmap_min_addr, and aligned for 64 KiB-page kernels (ppc64le, some arm64). */
const LOAD_ADDRESS = 0x400000;
const PAGE_ALIGN = 0x10000;

/** The architectures {@link exitProgram} has a program for (arm covers all its variants). */
export const PROBEABLE_ARCHITECTURES: readonly string[] = Object.keys(CPUS);

/** Whether {@link exitProgram} can make a program for this platform. */
export function canProbe(platform: Platform): boolean {
  return platform.architecture in CPUS;
}

/**
 * A static Linux ELF executable for the platform's CPU that exits with status 0.
 * Throws UnprobeablePlatformError for a CPU without a program (e.g. mips64le).
 */
export function exitProgram(platform: Platform): Buffer {
  const cpu = CPUS[platform.architecture];
  if (cpu === undefined) throw new UnprobeablePlatformError(platform.toString(), PROBEABLE_ARCHITECTURES);
  return elf(cpu);
}

function elf(cpu: Cpu): Buffer {
  const headerSize = cpu.bits === 64 ? 64 : 52;
  const programHeaderSize = cpu.bits === 64 ? 56 : 32;
  const codeOffset = headerSize + programHeaderSize;
  const fileSize = codeOffset + cpu.code.length;
  const out = new FieldWriter(Buffer.alloc(fileSize), cpu);
  // e_ident: magic, class (1 = 32-bit, 2 = 64-bit), data (1 = little, 2 = big endian), version 1, System V ABI, padding.
  out.bytes([0x7f, 0x45, 0x4c, 0x46, cpu.bits === 64 ? 2 : 1, cpu.bigEndian ? 2 : 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  out.u16(2); // e_type: ET_EXEC
  out.u16(cpu.machine);
  out.u32(1); // e_version
  out.word(LOAD_ADDRESS + codeOffset); // e_entry: the first instruction
  out.word(headerSize); // e_phoff: program header right after this header
  out.word(0); // e_shoff: no section headers
  out.u32(cpu.flags);
  out.u16(headerSize);
  out.u16(programHeaderSize);
  out.u16(1); // e_phnum
  out.u16(0); // e_shentsize
  out.u16(0); // e_shnum
  out.u16(0); // e_shstrndx
  programHeader(out, cpu, fileSize);
  out.bytes(cpu.code);
  return out.buf;
}

function programHeader(out: FieldWriter, cpu: Cpu, fileSize: number): void {
  const PT_LOAD = 1;
  const PF_R_X = 5;
  out.u32(PT_LOAD);
  if (cpu.bits === 64) out.u32(PF_R_X); // 64-bit puts p_flags second, 32-bit second to last
  out.word(0); // p_offset: map the file from its start...
  out.word(LOAD_ADDRESS); // p_vaddr
  out.word(LOAD_ADDRESS); // p_paddr
  out.word(fileSize); // p_filesz
  out.word(fileSize); // p_memsz
  if (cpu.bits === 32) out.u32(PF_R_X);
  out.word(PAGE_ALIGN); // p_align
}

/** Writes ELF fields in order, in the CPU's byte order and word size. */
class FieldWriter {
  private offset = 0;
  constructor(
    readonly buf: Buffer,
    private readonly cpu: Cpu,
  ) {}

  bytes(data: ArrayLike<number>): void {
    Buffer.from(data as number[]).copy(this.buf, this.offset);
    this.offset += data.length;
  }

  u16(value: number): void {
    this.offset = this.cpu.bigEndian ? this.buf.writeUInt16BE(value, this.offset) : this.buf.writeUInt16LE(value, this.offset);
  }

  u32(value: number): void {
    this.offset = this.cpu.bigEndian ? this.buf.writeUInt32BE(value, this.offset) : this.buf.writeUInt32LE(value, this.offset);
  }

  /** An address or offset: 4 bytes in ELF32, 8 in ELF64. */
  word(value: number): void {
    if (this.cpu.bits === 32) return this.u32(value);
    const big = BigInt(value);
    this.offset = this.cpu.bigEndian ? this.buf.writeBigUInt64BE(big, this.offset) : this.buf.writeBigUInt64LE(big, this.offset);
  }
}
