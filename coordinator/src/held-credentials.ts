import { errorMessage, type Logger, type RegistryCredentials } from '@archfarm/common';
import type { RegistryAccess } from './registry-access';
import type { SecretBox } from './security/secret-box';
import type { Store } from './store';

/**
 * The registry credentials the coordinator itself holds: those an admin stored (encrypted)
 * with `archfarm registry login`, else the coordinator host's own Docker config when it was
 * asked for (--use-host-docker-config or --registry-auth-file; see RegistryAccess.credentials).
 * Read when a build is submitted, so a change applies to new builds.
 */
export class HeldCredentials {
  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly registries: RegistryAccess,
    private readonly logger: Logger,
  ) {}

  async lookup(registry: string): Promise<RegistryCredentials | undefined> {
    const stored = await this.store.getRegistryCredential(registry);
    if (stored) return { username: stored.username, password: this.secrets.unseal(stored.ciphertext) };
    return this.registries.credentials(registry);
  }

  /**
   * Credentials for pulling the Dockerfile's FROM images, for each of `registries` the
   * coordinator holds some for (`except`, the tag's registry, travels separately). A lookup
   * that fails (a broken helper, say) is logged and skipped: the pull may still work
   * anonymously, and if not the build says so.
   *
   * These are the full credentials, as `docker login` stored them, for the job's life and in
   * the agent's memory. The tag's registry gets a push token instead (./job-spec); for FROM
   * registries a repository:NAME:pull token would be narrower, but the agent's engine pulls
   * through X-Registry-Config or the session's Credentials, which take a user name and
   * password; answering the session's FetchToken from the coordinator is the way there.
   */
  async forPulling(registries: readonly string[], except: string): Promise<Map<string, RegistryCredentials>> {
    const held = new Map<string, RegistryCredentials>();
    for (const registry of registries) {
      if (registry === except || held.has(registry)) continue;
      try {
        const credentials = await this.lookup(registry);
        if (credentials) held.set(registry, credentials);
      } catch (err) {
        this.logger.warn({ registry, err: errorMessage(err) }, 'no credentials for a base image registry');
      }
    }
    return held;
  }
}
