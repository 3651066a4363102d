import { defaultDockerConfigPath, loadDockerCredentials, type ImageRef } from '@archfarm/common';
import type { RegistryAuth } from '@archfarm/proto';

/**
 * What `docker login` stored for the tag's registry in $DOCKER_CONFIG/config.json (else
 * ~/.docker/config.json), so a build can push where its user may; undefined when nothing
 * is stored there (the coordinator may hold credentials of its own). Credential helpers are
 * not run. A file that cannot be read fails the build before anything is sent: it names the
 * file, never a credential.
 */
export function dockerRegistryAuth(tag: ImageRef, env: Readonly<Record<string, string | undefined>>): RegistryAuth | undefined {
  const credentials = loadDockerCredentials(tag.registry, defaultDockerConfigPath({ DOCKER_CONFIG: env.DOCKER_CONFIG?.trim() || undefined }));
  return credentials && { registry: tag.registry, username: credentials.username, password: credentials.password };
}
