import { defaultDockerConfigPath, ImageRef, loadDockerCredentials, RegistryClient, type Logger, type RegistryCredentials } from '@archfarm/common';

/** Where the coordinator may read Docker credentials of its own host. */
export interface HostDockerConfig {
  /** --registry-auth-file: a config.json named on purpose; read whatever the next flag says. */
  authFile: string | undefined;
  /** --use-host-docker-config: read $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
  useHostDockerConfig: boolean;
}

/**
 * How the coordinator reaches registries: plain HTTP for loopback hosts and
 * --insecure-registry entries, credentials from a Docker config.json only when one was
 * asked for (see HostDockerConfig). What agents get for a job is derived from these (./job-spec).
 */
export class RegistryAccess {
  private readonly insecure: Set<string>;
  private readonly configPath: string | undefined;

  constructor(
    insecureRegistries: readonly string[],
    docker: HostDockerConfig,
    private readonly logger: Logger,
  ) {
    this.insecure = new Set(insecureRegistries);
    this.configPath = docker.authFile ?? (docker.useHostDockerConfig ? defaultDockerConfigPath() : undefined);
  }

  isInsecure(ref: ImageRef): boolean {
    return ref.isLoopback || this.insecure.has(ref.registry);
  }

  /**
   * The Docker config's credentials for `registry` (credHelpers, credsStore or auths, as the
   * docker CLI looks them up), or undefined when no config is to be read. Read once per
   * build, when it is submitted: a changed config.json applies to new builds. A helper runs
   * synchronously (at most its 15 s timeout), so a slow one holds up the coordinator for
   * that long; `archfarm registry login` avoids running one at all.
   */
  async credentials(registry: string): Promise<RegistryCredentials | undefined> {
    return this.configPath === undefined ? undefined : loadDockerCredentials(registry, this.configPath);
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
