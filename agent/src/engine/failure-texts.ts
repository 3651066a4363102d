import type { Failure, FailureCause } from './failure-cause';

/**
 * What the engines really said, for the classifier's table test (failure-cause.test.ts).
 * `captured` rows came from `node test/dist/capture-failure-texts.js ENGINE` on the project's
 * host (2026-12-02), through the agent's own DockerEngine: dockerd 20.10 and 26 over their
 * sockets with BuildKit and the agent's session, Podman's Docker API service with a tar body.
 * The faults: a registry port nothing listens on (refused), one that accepts and never answers
 * (silent), one that answers 429 (TOOMANYREQUESTS) or 500/502/503, the real registry behind a
 * proxy that drops every connection and refuses new ones when the image's config blob or its
 * layer is fetched, an htpasswd registry without credentials; a FROM of a repository or tag that
 * does not exist; a RUN exiting 3; a COPY of a missing file; an unknown instruction; an engine
 * socket that does not exist, one that drops mid-RUN (a unix-socket proxy cut, the connections
 * the agent sees when dockerd dies), Podman's service stopped mid-RUN; Podman's store on a 16 MB
 * tmpfs and a FROM image of 24 MiB. Ports and digests are the ones of that run.
 *
 * Not captured, and why:
 * - a silent registry on dockerd 20.10 and Podman 4.3: no text at all, the build waited (the
 *   capture gave up after 150 s); dockerd 26 tries HTTPS first and gives up after 10 s
 *   ("TLS handshake timeout"). The agent now gives such a lookup a deadline of its own
 *   (resolve-watch.ts: BASE_IMAGE_TIMEOUT after 60 s, seen on both engines).
 * - a layer fetch cut off on dockerd 20.10: its BuildKit retried and the build finished once
 *   the registry came back (76 s), so there was no failure to classify.
 * - a full disk on dockerd: its image store is the host's, shared by every test, so it was not
 *   filled. The `reported` rows are dockerd texts from public issue threads instead (BuildKit
 *   inside dockerd, versions as the reporters had them), linked in `source`.
 */
export interface FailureText {
  engine: string;
  scenario: string;
  /** 'captured' on this project's host, or the address of the issue thread that quotes the text. */
  source?: string;
  failure: Failure;
  /** Whether the engine answered a ping after the failure (the agent asks; see DockerEngine.buildFailure). */
  engineAnswers?: boolean;
  cause: FailureCause;
}

export const FAILURE_TEXTS: readonly FailureText[] = [
  { engine: "dockerd 20.10.24+dfsg1 (Debian 12)", scenario: "registry-refused", source: "captured", failure: { text: "failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to do request: Head \"http://127.0.0.1:41903/v2/archfarm/base/manifests/1\": dial tcp 127.0.0.1:41903: connect: connection refused" }, cause: "registry-unreachable" },
  // dockerd 20.10.24+dfsg1 (Debian 12), registry-silent: no text, the build hung (150 s) (the capture gave up after 150 s).
  { engine: "dockerd 20.10.24+dfsg1 (Debian 12)", scenario: "registry-429", source: "captured", failure: { text: "failed to solve with frontend dockerfile.v0: failed to create LLB definition: pulling from host 127.0.0.1:35231 failed with status code [manifests 1]: 429 Too Many Requests" }, cause: "registry-overloaded" },
  { engine: "dockerd 20.10.24+dfsg1 (Debian 12)", scenario: "registry-500", source: "captured", failure: { text: "failed to solve with frontend dockerfile.v0: failed to create LLB definition: pulling from host 127.0.0.1:36651 failed with status code [manifests 1]: 500 Internal Server Error" }, cause: "registry-overloaded" },
  { engine: "dockerd 20.10.24+dfsg1 (Debian 12)", scenario: "registry-502", source: "captured", failure: { text: "failed to solve with frontend dockerfile.v0: failed to create LLB definition: pulling from host 127.0.0.1:45461 failed with status code [manifests 1]: 502 Bad Gateway" }, cause: "registry-overloaded" },
  { engine: "dockerd 20.10.24+dfsg1 (Debian 12)", scenario: "registry-503", source: "captured", failure: { text: "failed to solve with frontend dockerfile.v0: failed to create LLB definition: pulling from host 127.0.0.1:40307 failed with status code [manifests 1]: 503 Service Unavailable" }, cause: "registry-overloaded" },
  { engine: "dockerd 20.10.24+dfsg1 (Debian 12)", scenario: "registry-denied", source: "captured", failure: { text: "failed to solve with frontend dockerfile.v0: failed to create LLB definition: pulling from host 127.0.0.1:33629 failed with status code [manifests 1]: 401 Unauthorized" }, cause: "registry-denied" },
  { engine: "dockerd 20.10.24+dfsg1 (Debian 12)", scenario: "base-repository-missing", source: "captured", failure: { text: "failed to solve with frontend dockerfile.v0: failed to create LLB definition: 127.0.0.1:5000/archfarm/no-such-9f7933:1: not found" }, cause: "base-image-missing" },
  { engine: "dockerd 20.10.24+dfsg1 (Debian 12)", scenario: "base-tag-missing", source: "captured", failure: { text: "failed to solve with frontend dockerfile.v0: failed to create LLB definition: 127.0.0.1:5000/archfarm/base:no-such-tag: not found" }, cause: "base-image-missing" },
  { engine: "dockerd 20.10.24+dfsg1 (Debian 12)", scenario: "run-fails", source: "captured", failure: { text: "executor failed running [/bin/sh -c echo boom && exit 3]: exit code: 3" }, cause: "build-step" },
  { engine: "dockerd 20.10.24+dfsg1 (Debian 12)", scenario: "copy-missing", source: "captured", failure: { text: "failed to compute cache key: \"/no-such-file\" not found: not found" }, cause: "missing-file" },
  { engine: "dockerd 20.10.24+dfsg1 (Debian 12)", scenario: "dockerfile-invalid", source: "captured", failure: { text: "failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 2: unknown instruction: FROBNICATE" }, cause: "dockerfile-invalid" },
  { engine: "dockerd 20.10.24+dfsg1 (Debian 12)", scenario: "engine-absent", source: "captured", failure: { text: "connect ENOENT /run/archfarm-no-such-engine.sock", errno: "ENOENT", syscall: "connect" }, cause: "engine-gone" },
  { engine: "dockerd 20.10.24+dfsg1 (Debian 12)", scenario: "engine-gone-mid-build", source: "captured", failure: { text: "aborted", errno: "ECONNRESET" }, cause: "engine-gone" },
  { engine: "dockerd 20.10.24+dfsg1 (Debian 12)", scenario: "registry-dropped-at-config", source: "captured", failure: { text: "failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to copy: httpReadSeeker: failed open: failed to do request: Get \"http://127.0.0.1:33281/v2/test/capture-a1025bf4/blobs/sha256:1ba30703c1afce0343533ef73fa39aca3d35ae9c7573256758317d5e94c345dd\": dial tcp 127.0.0.1:33281: connect: connection refused" }, cause: "registry-unreachable" },
  // dockerd 20.10.24+dfsg1 (Debian 12), registry-dropped-mid-layer: no text, the build built (76 s).
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "registry-refused", source: "captured", failure: { text: "127.0.0.1:42411/archfarm/base:1: failed to resolve source metadata for 127.0.0.1:42411/archfarm/base:1: failed to do request: Head \"https://127.0.0.1:42411/v2/archfarm/base/manifests/1\": dial tcp 127.0.0.1:42411: connect: connection refused" }, cause: "registry-unreachable" },
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "registry-silent", source: "captured", failure: { text: "127.0.0.1:40783/archfarm/base:1: failed to resolve source metadata for 127.0.0.1:40783/archfarm/base:1: failed to do request: Head \"https://127.0.0.1:40783/v2/archfarm/base/manifests/1\": net/http: TLS handshake timeout" }, cause: "registry-timeout" },
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "registry-429", source: "captured", failure: { text: "127.0.0.1:40545/archfarm/base:1: failed to resolve source metadata for 127.0.0.1:40545/archfarm/base:1: unexpected status from HEAD request to http://127.0.0.1:40545/v2/archfarm/base/manifests/1: 429 Too Many Requests" }, cause: "registry-overloaded" },
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "registry-500", source: "captured", failure: { text: "127.0.0.1:34997/archfarm/base:1: failed to resolve source metadata for 127.0.0.1:34997/archfarm/base:1: unexpected status from HEAD request to http://127.0.0.1:34997/v2/archfarm/base/manifests/1: 500 Internal Server Error" }, cause: "registry-overloaded" },
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "registry-502", source: "captured", failure: { text: "127.0.0.1:42009/archfarm/base:1: failed to resolve source metadata for 127.0.0.1:42009/archfarm/base:1: unexpected status from HEAD request to http://127.0.0.1:42009/v2/archfarm/base/manifests/1: 502 Bad Gateway" }, cause: "registry-overloaded" },
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "registry-503", source: "captured", failure: { text: "127.0.0.1:33995/archfarm/base:1: failed to resolve source metadata for 127.0.0.1:33995/archfarm/base:1: unexpected status from HEAD request to http://127.0.0.1:33995/v2/archfarm/base/manifests/1: 503 Service Unavailable" }, cause: "registry-overloaded" },
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "registry-denied", source: "captured", failure: { text: "127.0.0.1:34115/archfarm/base:1: failed to resolve source metadata for 127.0.0.1:34115/archfarm/base:1: unexpected status from HEAD request to http://127.0.0.1:34115/v2/archfarm/base/manifests/1: 401 Unauthorized" }, cause: "registry-denied" },
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "base-repository-missing", source: "captured", failure: { text: "127.0.0.1:5000/archfarm/no-such-b3614c:1: failed to resolve source metadata for 127.0.0.1:5000/archfarm/no-such-b3614c:1: 127.0.0.1:5000/archfarm/no-such-b3614c:1: not found" }, cause: "base-image-missing" },
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "base-tag-missing", source: "captured", failure: { text: "127.0.0.1:5000/archfarm/base:no-such-tag: failed to resolve source metadata for 127.0.0.1:5000/archfarm/base:no-such-tag: 127.0.0.1:5000/archfarm/base:no-such-tag: not found" }, cause: "base-image-missing" },
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "run-fails", source: "captured", failure: { text: "process \"/bin/sh -c echo boom && exit 3\" did not complete successfully: exit code: 3" }, cause: "build-step" },
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "copy-missing", source: "captured", failure: { text: "failed to compute cache key: failed to calculate checksum of ref r6be4juc8qpdhtvf57buq6j0m::v44pb05vvpkmud8zoffr59vxr: \"/no-such-file\": not found" }, cause: "missing-file" },
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "dockerfile-invalid", source: "captured", failure: { text: "dockerfile parse error on line 2: unknown instruction: FROBNICATE" }, cause: "dockerfile-invalid" },
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "engine-absent", source: "captured", failure: { text: "connect ENOENT /run/archfarm-no-such-engine.sock", errno: "ENOENT", syscall: "connect" }, cause: "engine-gone" },
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "engine-gone-mid-build", source: "captured", failure: { text: "aborted", errno: "ECONNRESET" }, cause: "engine-gone" },
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "registry-dropped-at-config", source: "captured", failure: { text: "127.0.0.1:34805/test/capture-567f628a:1: failed to resolve source metadata for 127.0.0.1:34805/test/capture-567f628a:1: failed to copy: httpReadSeeker: failed open: failed to do request: Get \"https://127.0.0.1:34805/v2/test/capture-567f628a/blobs/sha256:d521def97c7c3fbd68a4dcf722cb492dc68c5be8c5abbd71facd1c6fffe9e1ae\": dial tcp 127.0.0.1:34805: connect: connection refused" }, cause: "registry-unreachable" },
  { engine: "dockerd 26.1.5+dfsg1 (Debian 13, containerd image store)", scenario: "registry-dropped-mid-layer", source: "captured", failure: { text: "failed to compute cache key: failed to copy: httpReadSeeker: failed open: failed to do request: Get \"https://127.0.0.1:35769/v2/test/capture-bb587952/blobs/sha256:736898012d627aebdfaa15d71b1bc822f14cb347c163784bd15666022fdb4d4d\": dial tcp 127.0.0.1:35769: connect: connection refused" }, cause: "registry-unreachable" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "registry-refused", source: "captured", failure: { text: "creating build container: initializing source docker://127.0.0.1:46633/archfarm/base:1: pinging container registry 127.0.0.1:46633: Get \"http://127.0.0.1:46633/v2/\": dial tcp 127.0.0.1:46633: connect: connection refused\n" }, cause: "registry-unreachable" },
  // podman 4.3.1 (Debian 12), registry-silent: no text, the build hung (150 s) (the capture gave up after 150 s).
  { engine: "podman 4.3.1 (Debian 12)", scenario: "registry-429", source: "captured", failure: { text: "creating build container: initializing source docker://127.0.0.1:37047/archfarm/base:1: pinging container registry 127.0.0.1:37047: too many requests to registry\n" }, cause: "registry-overloaded" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "registry-500", source: "captured", failure: { text: "creating build container: initializing source docker://127.0.0.1:37129/archfarm/base:1: pinging container registry 127.0.0.1:37129: invalid status code from registry 500 (Internal Server Error)\n" }, cause: "registry-overloaded" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "registry-502", source: "captured", failure: { text: "creating build container: initializing source docker://127.0.0.1:39479/archfarm/base:1: pinging container registry 127.0.0.1:39479: invalid status code from registry 502 (Bad Gateway)\n" }, cause: "registry-overloaded" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "registry-503", source: "captured", failure: { text: "creating build container: initializing source docker://127.0.0.1:44293/archfarm/base:1: pinging container registry 127.0.0.1:44293: invalid status code from registry 503 (Service Unavailable)\n" }, cause: "registry-overloaded" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "registry-denied", source: "captured", failure: { text: "creating build container: initializing source docker://127.0.0.1:44879/archfarm/base:1: reading manifest 1 in 127.0.0.1:44879/archfarm/base: unauthorized: authentication required\n" }, cause: "registry-denied" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "base-repository-missing", source: "captured", failure: { text: "creating build container: initializing source docker://127.0.0.1:5000/archfarm/no-such-d09800:1: reading manifest 1 in 127.0.0.1:5000/archfarm/no-such-d09800: manifest unknown: manifest unknown\n" }, cause: "base-image-missing" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "base-tag-missing", source: "captured", failure: { text: "creating build container: initializing source docker://127.0.0.1:5000/archfarm/base:no-such-tag: reading manifest no-such-tag in 127.0.0.1:5000/archfarm/base: manifest unknown: manifest unknown\n" }, cause: "base-image-missing" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "run-fails", source: "captured", failure: { text: "building at STEP \"RUN echo boom && exit 3\": while running runtime: exit status 3\n" }, cause: "build-step" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "copy-missing", source: "captured", failure: { text: "building at STEP \"COPY no-such-file /x\": checking on sources under \"/var/tmp/libpod_builder79852321/build\": copier: stat: \"/no-such-file\": no such file or directory\n" }, cause: "missing-file" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "dockerfile-invalid", source: "captured", failure: { text: "building at STEP \"FROBNICATE \": Build error: Unknown instruction: \"FROBNICATE\" &imagebuilder.Step{Env:[]string{\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"}, Command:\"frobnicate\", Args:[]string{\"\"}, Flags:[]string{}, Attrs:map[string]bool(nil), Message:\"FROBNICATE \", Original:\"FROBNICATE x\"}\n" }, cause: "dockerfile-invalid" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "engine-absent", source: "captured", failure: { text: "connect ENOENT /run/archfarm-no-such-engine.sock", errno: "ENOENT", syscall: "connect" }, cause: "engine-gone" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "engine-gone-mid-build", source: "captured", failure: { text: "aborted", errno: "ECONNRESET" }, cause: "engine-gone" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "registry-dropped-at-config", source: "captured", failure: { text: "creating build container: initializing source docker://127.0.0.1:42647/test/capture-a0cb31b9:1: pinging container registry 127.0.0.1:42647: Get \"http://127.0.0.1:42647/v2/\": dial tcp 127.0.0.1:42647: connect: connection refused\n" }, cause: "registry-unreachable" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "registry-dropped-mid-layer", source: "captured", failure: { text: "creating build container: initializing source docker://127.0.0.1:36313/test/capture-b75ddc0d:1: pinging container registry 127.0.0.1:36313: Get \"http://127.0.0.1:36313/v2/\": dial tcp 127.0.0.1:36313: connect: connection refused\n" }, cause: "registry-unreachable" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "disk-full", source: "captured", failure: { text: "creating build container: writing blob: storing blob to file \"/tmp/afd-3nENnu/storage186934567/1\": write /tmp/afd-3nENnu/storage186934567/1: no space left on device\n" }, cause: "disk-full" },
  { engine: "podman 4.3.1 (Debian 12)", scenario: "engine-stopped-mid-build", source: "captured", failure: { text: "building at STEP \"RUN echo go-841ed3 && sleep 20\": while running runtime: exit status 1\n" }, cause: "engine-gone", engineAnswers: false },
  // Reported, not captured here: dockerd's BuildKit on a full disk.
  {
    engine: 'dockerd with BuildKit (reporter: Docker Desktop, 2024)',
    scenario: 'disk-full',
    source: 'https://github.com/docker/cli/issues/4844',
    failure: { text: 'failed to compute cache key: mount callback failed on /tmp/containerd-mount1749269262: write /tmp/containerd-mount1749269262/usr/bin/cksum: no space left on device' },
    cause: 'disk-full',
  },
  {
    engine: 'dockerd with BuildKit (reporter: GitHub Actions runner, 2024)',
    scenario: 'disk-full',
    source: 'https://github.com/dandi/dandi-hub/issues/152',
    failure: { text: 'failed to register layer: Error processing tar file(exit status 1): write /home/jovyan/.cache/pip/http/2/d/f/3/f/2df3fa36007c7cdf5181fed5bb71166c083f9d5cfe06d13f5f45bcb2: no space left on device' },
    cause: 'disk-full',
  },
  {
    engine: 'dockerd with BuildKit (reporter: a serverless build host, 2025)',
    scenario: 'disk-full',
    source: 'https://github.com/serverless/containers/issues/19',
    failure: { text: 'ResourceExhausted: failed to read dockerfile: failed to create temp dir: mkdir /var/lib/docker/tmp/buildkit-mount2667628103: no space left on device' },
    cause: 'disk-full',
  },
  {
    engine: 'buildkitd (rootless, 2022)',
    scenario: 'disk-full',
    source: 'https://github.com/moby/buildkit/issues/2697',
    failure: { text: 'failed to compute cache key: copying of parent failed: failed to copy files: copy file range failed: no space left on device' },
    cause: 'disk-full',
  },
];
