import type { Platform } from '@archfarm/common';

/** How the engine builds a platform: with the CPU's own instructions, or through an emulator (QEMU). */
export type BuildMode = 'native' | 'emulated';

/** What one probe showed: the engine's platform, the platform probed, and what uname(2) told the probe's program. */
export interface ProbeEvidence {
  engine: Platform;
  platform: Platform;
  /** `uname -m` as the program in the probe's RUN step saw it; undefined when it printed none (see UNAME_MARKER). */
  machine: string | undefined;
}

/** The mode, and why, in words for the agent's log. */
export interface ModeDecision {
  mode: BuildMode;
  reason: string;
}

/*
 * A 64-bit kernel may run the 32-bit code of its family itself: arm64 kernels run AArch32 at
 * EL0 where the CPU has it (the Cortex-A53/A72/A76 of a Pi 3/4/5, the Neoverse N1 of Graviton 2
 * and Ampere Altra; not Apple's M chips or Ampere One), x86_64 kernels run i386. Such a build is
 * native: no emulator, the real CPU's behaviour. But it is not native just because it could
 * be: Linux tries binfmt_misc's handlers before its own ELF loader (binfmt_misc puts itself
 * first in the list of formats), so where a qemu-arm entry matches and is enabled, arm32 code
 * runs under QEMU even on a CPU that runs it. Debian's qemu-user-binfmt registers no handler
 * for the host's own family, and `tonistiigi/binfmt --install all` skips the CPUs the machine
 * already runs (it tries them first, as BuildKit's archutil does), but `--install arm` or a
 * hand-made entry registers one, and a CPU without AArch32 needs one.
 *
 * So the probe asks the code that actually ran rather than binfmt_misc. Its entries settle
 * nothing from where the agent stands: in the probe's container binfmt_misc is not mounted (a
 * file system of its own; a container's /proc is a fresh one), the engine may be on another
 * machine, and on this one an entry may not match (its mask), be disabled, or belong to another
 * user namespace's binfmt_misc (Linux 6.7+); its interpreter line names an emulator, not
 * whether it was used. uname(2) is answered by whatever executed the program: the kernel's
 * compat layer gives its own name, "aarch64" (or "armv8l" under the linux32 personality, which
 * dockerd, containerd and BuildKit do not set) and "x86_64" (or "i686" under linux32); qemu-arm
 * gives the CPU it emulates, at most "armv7l" (qemu linux-user/uname.c: it names no ARMv8),
 * and qemu-i386 "i686". Native is claimed only on an answer no emulator gives; "i686" may be
 * either, and counts as emulated. (Checked: qemu-system-aarch64 7.2 TCG, -cpu cortex-a72 and
 * -cpu max, Debian's 6.1 arm64 kernel: the arm probe runs and prints "aarch64", under linux32
 * "armv8l"; with a qemu-arm entry registered there (flag F), the same program on the same CPU
 * printed "armv7l", and "aarch64" again once the entry was disabled. On x86_64, qemu-arm
 * prints "armv7l" and the kernel runs the 386 probe, "x86_64".)
 */
const COMPAT: Readonly<Record<string, { kernel: string; machines: readonly string[] }>> = {
  arm: { kernel: 'arm64', machines: ['aarch64', 'armv8l'] },
  '386': { kernel: 'amd64', machines: ['x86_64'] },
};

/**
 * The mode of a platform the probe ran on the engine. The engine's own architecture is native
 * (arm/v6 on an arm/v7 machine, amd64/v2 on amd64); 32-bit code of a 64-bit engine's family is
 * native when uname -m shows the kernel ran it, emulated otherwise; any other CPU is emulated.
 */
export function probeMode({ engine, platform, machine }: ProbeEvidence): ModeDecision {
  if (platform.architecture === engine.architecture) return { mode: 'native', reason: `the engine's own CPU (${engine.toString()})` };
  const compat = COMPAT[platform.architecture];
  if (compat === undefined || compat.kernel !== engine.architecture) {
    const said = machine === undefined ? '' : ` (uname -m in the probe said ${machine})`;
    return { mode: 'emulated', reason: `a ${engine.toString()} kernel cannot run ${platform.architecture} code itself${said}` };
  }
  if (machine === undefined) return { mode: 'emulated', reason: 'the probe printed no uname -m, so no proof the kernel ran it' };
  if (compat.machines.includes(machine)) {
    return { mode: 'native', reason: `uname -m in the probe said ${machine}: the ${engine.architecture} kernel ran the code itself` };
  }
  return { mode: 'emulated', reason: `uname -m in the probe said ${machine}, not ${compat.machines.join(' or ')}: an emulator under binfmt_misc ran it` };
}
