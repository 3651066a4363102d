import { defaultDockerConfigPath, loadDockerCredentials, type ImageRef } from '@archfarm/common';
import type { RegistryAuth } from '@archfarm/proto';

/**
 * What Docker holds for the tag's registry in $DOCKER_CONFIG/config.json (else
 * ~/.docker/config.json): its credHelpers or credsStore helper's answer (run with this
 * environment's PATH), else what `docker login` stored under auths, so a build can push
 * where its user may; undefined when there is nothing (the coordinator may hold credentials
 * of its own). Read only for `archfarm build --forward-credentials`: the coordinator gets
 * the login for this build (kept sealed for its life), and agents get a push token for the
 * tag's repository where the registry speaks token auth, else the login for that one job.
 * A file that cannot be read or a helper that fails stops the build before anything is
 * sent: the error names the file or the helper, never a credential.
 */
export function dockerRegistryAuth(tag: ImageRef, env: Readonly<Record<string, string | undefined>>): RegistryAuth | undefined {
  const configPath = defaultDockerConfigPath({ DOCKER_CONFIG: env.DOCKER_CONFIG?.trim() || undefined });
  const credentials = loadDockerCredentials(tag.registry, configPath, { env: { ...env } });
  return credentials && { registry: tag.registry, username: credentials.username, password: credentials.password };
}
