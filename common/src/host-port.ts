import { InvalidInputError } from './errors';

/** How one field reads a host:port: whether the port may be left out, and what to show in an error. */
export interface HostPortRules {
  /** Used when the text has no port; without it (and without portOptional) a port is required. */
  defaultPort?: number;
  /** The port may be absent and stays absent (a registry host: its scheme's port). */
  portOptional?: boolean;
  /** Port 0 ("pick one") is allowed: a listen address. */
  allowPortZero?: boolean;
  /** What the field holds, for the error. Default "host:port" (or "host[:port]" when a port may be left out). */
  what?: string;
  /** A valid value, for the error: "e.g. 0.0.0.0:7420". */
  example: string;
}

// A DNS name or IPv4 address (labels of letters, digits and inner hyphens), or an IPv6 address
// in brackets (the only form in which its colons cannot be mistaken for the port's).
const HOST_PORT = /^(?<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::(?<port>\d{1,5}))?$/;

/**
 * A network address as operators write it: `host:port`, `[::1]:7420`. The one grammar for
 * --listen, --http-listen, --coordinator, registry hosts and image references' registries.
 */
export class HostPort {
  private constructor(
    /** As written, IPv6 in brackets: what goes back into an address string. */
    readonly host: string,
    readonly port: number | undefined,
  ) {}

  /** Parses `text` or throws an InvalidInputError naming `field`, what it must look like and an example. */
  static parse(text: string, field: string, rules: HostPortRules): HostPort {
    const parsed = HostPort.tryParse(text, rules);
    if (parsed) return parsed;
    const what = rules.what ?? (rules.portOptional || rules.defaultPort !== undefined ? 'host[:port]' : 'host:port');
    throw new InvalidInputError(field, `"${text}" is not ${what}; e.g. ${rules.example}`);
  }

  /** Like {@link parse}, undefined instead of an error. */
  static tryParse(text: string, rules: Omit<HostPortRules, 'example' | 'what'> = {}): HostPort | undefined {
    const m = HOST_PORT.exec(text.trim());
    if (!m?.groups) return undefined;
    const written = m.groups.port === undefined ? undefined : Number(m.groups.port);
    const port = written ?? rules.defaultPort;
    if (port === undefined && !rules.portOptional) return undefined;
    if (port !== undefined && (port > 65535 || (port === 0 && !rules.allowPortZero))) return undefined;
    return new HostPort(m.groups.host!, port);
  }

  /** The host without IPv6 brackets, as node:net and TLS servername want it. */
  get hostname(): string {
    return this.host.replace(/^\[|\]$/g, '');
  }

  /** True for 127.0.0.0/8, localhost and ::1. */
  get isLoopback(): boolean {
    return this.host === 'localhost' || this.host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(this.host);
  }

  toString(): string {
    return this.port === undefined ? this.host : `${this.host}:${this.port}`;
  }
}
