import { ImageRef, loadDockerCredentials, RegistryClient, type Logger, type RegistryCredentials } from '@archfarm/common';

/**
 * How the coordinator reaches registries: plain HTTP for loopback hosts and
 * --insecure-registry entries, credentials from a Docker config.json. The same answers go
 * to agents with each job, so an agent never needs credentials of its own.
 */
export class RegistryAccess {
  private readonly insecure: Set<string>;

  constructor(
    insecureRegistries: readonly string[],
    private readonly authFile: string | undefined,
    private readonly logger: Logger,
  ) {
    this.insecure = new Set(insecureRegistries);
  }

  isInsecure(ref: ImageRef): boolean {
    return ref.isLoopback || this.insecure.has(ref.registry);
  }

  /**
   * The coordinator host's own Docker config's credentials for `registry`: credHelpers,
   * credsStore or auths, as the docker CLI looks them up (loadDockerCredentials). Read once
   * per build, when it is submitted: a changed config.json applies to new builds. A helper
   * runs synchronously (at most its 15 s timeout), so a slow one holds up the coordinator
   * for that long; `archfarm registry login` avoids running one at all.
   */
  async credentials(registry: string): Promise<RegistryCredentials | undefined> {
    return loadDockerCredentials(registry, this.authFile);
  }

  client(ref: ImageRef, credentials: RegistryCredentials | undefined): RegistryClient {
    return new RegistryClient(ref.registry, {
      insecure: this.isInsecure(ref),
      credentials,
      logger: this.logger,
      userAgent: 'archfarm-coordinator',
    });
  }
}
