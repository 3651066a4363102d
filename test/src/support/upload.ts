import type { BuildServiceClient, SubmitBuildRequest } from '@archfarm/proto';
import { sha256, tarEntry, tarOf } from './tar-headers';

/** Uploads `tar` as a build context over UploadContext; its digest. */
export async function uploadTar(builds: BuildServiceClient, tar: Buffer): Promise<string> {
  const digest = sha256(tar);
  await new Promise<void>((resolve, reject) => {
    const up = builds.uploadContext((err) => (err ? reject(err) : resolve()));
    up.write({ msg: { $case: 'header', value: { digest, size: tar.length } } });
    up.write({ msg: { $case: 'data', value: tar } });
    up.end();
  });
  return digest;
}

/** Uploads a context holding only this Dockerfile; its digest. */
export function uploadDockerfile(builds: BuildServiceClient, dockerfile: string): Promise<string> {
  return uploadTar(builds, tarOf(tarEntry('Dockerfile', { body: Buffer.from(dockerfile) })));
}

/** A SubmitBuild request for one linux/amd64 platform with every other field at its default, then `over`. */
export function submitRequest(contextDigest: string, over: Partial<SubmitBuildRequest> = {}): SubmitBuildRequest {
  return {
    ...{ platforms: ['linux/amd64'], tag: '', contextDigest, dockerfile: 'Dockerfile', buildArgs: {}, target: '', waitTimeoutSeconds: 0, timeoutSeconds: 0, allowPartial: false },
    ...{ smokeCommand: [], emulation: '', requireLabels: {}, registryAuth: undefined, tags: [], labels: {}, annotations: [], pull: false, noCache: false, secrets: [], git: undefined, noProvenance: false, crossCheck: [] },
    ...over,
  };
}
