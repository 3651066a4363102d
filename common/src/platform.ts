import { InvalidInputError } from './errors';

/**
 * An OCI platform (os/architecture[/variant]) in its normal form: the names BuildKit and
 * the OCI image index use (arm64 not aarch64, arm/v7 not armhf). Parse at the edge with
 * {@link Platform.parse}; inside, pass Platform values and compare with {@link Platform.equals}.
 */
export class Platform {
  /** The normal form, made once: placement compares platforms thousands of times per job. */
  private readonly text: string;

  private constructor(
    readonly os: string,
    readonly architecture: string,
    readonly variant: string | undefined,
  ) {
    this.text = [os, architecture, variant].filter(Boolean).join('/');
  }

  /** Parses "linux/arm64", "linux/aarch64", "linux/armhf", "arm/v7", ... into normal form. */
  static parse(text: string, field = 'platform'): Platform {
    const parts = text.trim().toLowerCase().split('/');
    if (parts.length === 0 || parts.length > 3 || parts.some((p) => p === '')) {
      throw new InvalidInputError(field, `"${text}" is not a platform; write os/arch[/variant], e.g. linux/arm64`);
    }
    // "arm64" alone or "arm/v7" means linux, as in buildx.
    const bareArch = parts[0]! in VARIANTS || parts[0]! in ARCH_ALIASES;
    const [os, arch, variant] = bareArch ? ['linux', ...parts] : parts;
    return Platform.of(os!, arch ?? '', variant, text, field);
  }

  /** Builds a platform from an image config's or an engine's own fields. */
  static of(os: string, arch: string, variant: string | undefined, text?: string, field = 'platform'): Platform {
    const shown = text ?? [os, arch, variant].filter(Boolean).join('/');
    if (!KNOWN_OS.has(os)) {
      throw new InvalidInputError(field, `unknown os "${os}" in "${shown}"; archfarm builds linux images`);
    }
    const alias = ARCH_ALIASES[arch];
    const architecture = alias?.architecture ?? arch;
    const rawVariant = variant ?? alias?.variant;
    const allowed = VARIANTS[architecture];
    if (allowed === undefined) {
      throw new InvalidInputError(field, `unknown architecture "${arch}" in "${shown}"; known: ${Object.keys(VARIANTS).join(', ')}`);
    }
    const normalVariant = rawVariant === undefined ? allowed.default : rawVariant;
    if (normalVariant !== undefined && !allowed.variants.includes(normalVariant)) {
      const hint = allowed.variants.length ? `known variants of ${architecture}: ${allowed.variants.join(', ')}` : `${architecture} has no variants`;
      throw new InvalidInputError(field, `unknown variant "${normalVariant}" in "${shown}"; ${hint}`);
    }
    // arm64's only variant v8 is implied, as containerd's platforms package normalises it.
    const kept = architecture === 'arm64' && normalVariant === 'v8' ? undefined : normalVariant;
    return new Platform(os, architecture, kept);
  }

  /** Parses a comma-separated list ("linux/amd64,linux/arm64"), de-duplicated, in order. */
  static parseList(text: string, field = 'platform'): Platform[] {
    const out: Platform[] = [];
    for (const item of text.split(',')) {
      if (item.trim() === '') continue;
      const p = Platform.parse(item, field);
      if (!out.some((q) => q.equals(p))) out.push(p);
    }
    return out;
  }

  /** The platform the Linux kernel reports for `uname -m` (an engine's Architecture). */
  static fromUname(machine: string): Platform {
    return Platform.of('linux', machine, undefined);
  }

  equals(other: Platform): boolean {
    return this.text === other.text;
  }

  toString(): string {
    return this.text;
  }

  toJSON(): string {
    return this.toString();
  }
}

const KNOWN_OS = new Set(['linux']);

interface ArchRule {
  variants: string[];
  default?: string;
}

/** Architectures and their variants, as in the OCI image index spec. */
const VARIANTS: Record<string, ArchRule> = {
  amd64: { variants: ['v1', 'v2', 'v3', 'v4'] },
  arm64: { variants: ['v8', 'v9'] },
  arm: { variants: ['v5', 'v6', 'v7', 'v8'], default: 'v7' },
  '386': { variants: [] },
  s390x: { variants: [] },
  ppc64le: { variants: [] },
  riscv64: { variants: [] },
  mips64le: { variants: [] },
};

/** Kernel (`uname -m`) and Debian names for OCI architectures. */
const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: 'amd64' },
  x86: { architecture: '386' },
  i386: { architecture: '386' },
  i686: { architecture: '386' },
  aarch64: { architecture: 'arm64' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' },
  armv7l: { architecture: 'arm', variant: 'v7' },
  armv7: { architecture: 'arm', variant: 'v7' },
  armv6l: { architecture: 'arm', variant: 'v6' },
  ppc64el: { architecture: 'ppc64le' },
};
