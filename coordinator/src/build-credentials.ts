import { errorMessage, type Logger } from '@archfarm/common';
import { RegistryAuth } from '@archfarm/proto';
import type { KeptCredentials } from './builds/build-manager';
import type { SecretBox } from './security/secret-box';
import type { Store } from './store';

/**
 * The registry login a build was submitted with (the operator's own, from their Docker
 * config), sealed with the data directory's key and stored for the build's life only: a
 * coordinator restarted mid-build resumes it with the same login instead of failing its
 * push and publish with 401. Deleted when the build ends.
 *
 * Chosen over failing the resumed build: the login is already held sealed for `registry
 * login`, under the same key, so keeping one more for the minutes a build runs adds no new
 * kind of exposure, while failing would make every restart cost the operators a rebuild.
 * --secret values are not kept this way: BuildKit secrets are meant never to touch a disk.
 */
export class SealedBuildCredentials implements KeptCredentials {
  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly logger: Logger,
  ) {}

  keep(buildId: string, auth: RegistryAuth): void {
    const sealed = this.secrets.seal(JSON.stringify(RegistryAuth.toJSON(auth)));
    this.store.putBuildCredential(buildId, sealed).catch((err: unknown) => this.logger.error({ buildId, err: errorMessage(err) }, 'build credentials not kept'));
  }

  async recall(buildId: string): Promise<RegistryAuth | undefined> {
    const sealed = await this.store.getBuildCredential(buildId);
    return sealed && RegistryAuth.fromJSON(JSON.parse(this.secrets.unseal(sealed)));
  }

  forget(buildId: string): void {
    this.store.deleteBuildCredential(buildId).catch((err: unknown) => this.logger.warn({ buildId, err: errorMessage(err) }, 'build credentials not deleted'));
  }
}
