import type { Platform } from '@archfarm/common';
import { UnprobeablePlatformError } from './errors';

/*
 * Tiny static Linux executables that call exit(0), one per CPU (those for arm and 386 first
 * print what uname(2) tells them, see UNAME_MARKER). The capability probe runs
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

/**
 * What the programs for 32-bit CPUs that a 64-bit kernel of the same family may run itself
 * (arm on arm64, 386 on amd64) print before `uname -m`, on one line of their own: the probe
 * reads it from the build log to tell the kernel's compat layer from QEMU (probe-mode.ts).
 */
export const UNAME_MARKER = 'archfarm-probe uname -m: ';
const MARKER = Buffer.from(UNAME_MARKER, 'latin1');

const CPUS: Record<string, Cpu> = {
  amd64: {
    bits: 64, bigEndian: false, machine: 62, flags: 0, // EM_X86_64
    code: Buffer.from([
      0xb8, 0x3c, 0x00, 0x00, 0x00, // mov eax, 60   ; exit in the x86_64 syscall table
      0x31, 0xff, //                   xor edi, edi  ; status 0 (first argument: rdi)
      0x0f, 0x05, //                   syscall
    ]),
  },
  // Prints `uname -m` (see UNAME_MARKER): an x86_64 kernel runs i386 code itself, QEMU under binfmt_misc would too.
  '386': {
    bits: 32, bigEndian: false, machine: 3, flags: 0, // EM_386
    code: Buffer.concat([Buffer.from([
      0x81, 0xec, 0x88, 0x01, 0x00, 0x00, // 0  sub esp, 392            ; room for struct new_utsname (6 fields of 65 bytes)
      0xb8, 0x7a, 0x00, 0x00, 0x00, //       6  mov eax, 122            ; uname in the i386 syscall table
      0x89, 0xe3, //                         11 mov ebx, esp            ; its buffer
      0xcd, 0x80, //                         13 int 0x80
      0x8d, 0x8c, 0x24, 0x04, 0x01, 0x00, 0x00, // 15 lea ecx, [esp+260] ; the machine field (the fifth)
      0x31, 0xd2, //                         22 xor edx, edx            ; edx = its length:
      0x80, 0x3c, 0x11, 0x00, //             24 cmp byte [ecx+edx], 0
      0x74, 0x03, //                         28 je 33
      0x42, //                               30 inc edx
      0xeb, 0xf7, //                         31 jmp 24
      0xc6, 0x04, 0x11, 0x0a, //             33 mov byte [ecx+edx], 10  ; its NUL becomes a newline
      0x42, //                               37 inc edx
      0xe8, 0x00, 0x00, 0x00, 0x00, //       38 call 43                 ; pushes the address of 43 (no absolute addresses)
      0x5e, //                               43 pop esi
      0x83, 0xc6, 0x2c, //                   44 add esi, 44             ; esi = the marker, at 87
      0xbb, MARKER.length, 0x00, 0x00, 0x00, // 47 mov ebx, marker length ; copy the marker in front of the field, last byte first:
      0x4b, //                               52 dec ebx                 ; (sets ZF for the jnz)
      0x8a, 0x04, 0x1e, //                   53 mov al, [esi+ebx]
      0x8d, 0x49, 0xff, //                   56 lea ecx, [ecx-1]        ; lea leaves the flags alone
      0x88, 0x01, //                         59 mov [ecx], al
      0x8d, 0x52, 0x01, //                   61 lea edx, [edx+1]
      0x75, 0xf2, //                         64 jnz 52
      0xb8, 0x04, 0x00, 0x00, 0x00, //       66 mov eax, 4              ; write(1, ecx, edx): one line, one write
      0xbb, 0x01, 0x00, 0x00, 0x00, //       71 mov ebx, 1
      0xcd, 0x80, //                         76 int 0x80
      0xb8, 0x01, 0x00, 0x00, 0x00, //       78 mov eax, 1              ; exit in the i386 syscall table
      0x31, 0xdb, //                         83 xor ebx, ebx            ; status 0 (first argument: ebx)
      0xcd, 0x80, //                         85 int 0x80                ; the i386 syscall gate
    ]), MARKER]), //                         87 the marker
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
  // Prints `uname -m` (see UNAME_MARKER): an arm64 kernel may run it itself (AArch32 at EL0), or QEMU.
  arm: {
    bits: 32, bigEndian: false, machine: 40, flags: 0x05000000, // EM_ARM, EABI version 5 (the kernel refuses old-ABI binaries)
    code: Buffer.concat([words(false,
      0xe24ddf62, // 0   sub sp, sp, #392      ; room for struct new_utsname (6 fields of 65 bytes)
      0xe1a0000d, // 4   mov r0, sp            ; its buffer
      0xe3a0707a, // 8   mov r7, #122          ; uname; with EABI the syscall number goes in r7
      0xef000000, // 12  svc #0
      0xe28d1f41, // 16  add r1, sp, #260      ; the machine field (the fifth)
      0xe3a02000, // 20  mov r2, #0            ; r2 = its length:
      0xe7d13002, // 24  ldrb r3, [r1, r2]
      0xe3530000, // 28  cmp r3, #0
      0x12822001, // 32  addne r2, r2, #1
      0x1afffffb, // 36  bne 24
      0xe3a0300a, // 40  mov r3, #10
      0xe7c13002, // 44  strb r3, [r1, r2]     ; its NUL becomes a newline
      0xe2822001, // 48  add r2, r2, #1
      0xe28f502c, // 52  add r5, pc, #44       ; r5 = the marker, at 104 (pc reads 8 ahead)
      0xe3a06000 + MARKER.length, // 56 mov r6, #marker length ; copy it in front of the field, last byte first:
      0xe2566001, // 60  subs r6, r6, #1       ; (sets Z for the bne)
      0xe7d53006, // 64  ldrb r3, [r5, r6]
      0xe5613001, // 68  strb r3, [r1, #-1]!
      0xe2822001, // 72  add r2, r2, #1
      0x1afffffa, // 76  bne 60
      0xe3a00001, // 80  mov r0, #1            ; write(1, r1, r2): one line, one write
      0xe3a07004, // 84  mov r7, #4
      0xef000000, // 88  svc #0
      0xe3a07001, // 92  mov r7, #1            ; exit
      0xe3a00000, // 96  mov r0, #0            ; status 0
      0xef000000, // 100 svc #0
    ), MARKER]), // 104 the marker
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
