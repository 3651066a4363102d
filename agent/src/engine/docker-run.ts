import { addAbortSignal, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import { Platform } from '@archfarm/common';
import { ContainerOutput } from './container-output';
import { engineError, engineMessage, ignoreGone, statusOf } from './docker-errors';
import type { RunRequest } from './engine';
import { ImagePlatformMismatchError, RunCancelledError, RunNotStartedError, RunTimeoutError } from './errors';

/** A short engine request, bounded in time, its failure classified (DockerEngine's `quick`). */
export type QuickCall = <T>(action: string, call: (abortSignal: AbortSignal) => Promise<T>) => Promise<T>;

/** Time a run may take unless the request says otherwise. */
export const DEFAULT_RUN_TIMEOUT_MS = 5 * 60_000;

/**
 * {@link Engine.run} on a Docker API: create (no network), attach, start, wait, and always
 * remove. The attach comes before the start so that no output of a quick command is lost;
 * aborting or timing out ends the wait, and the forced remove kills the container.
 */
export async function runContainer(docker: Docker, quick: QuickCall, req: RunRequest): Promise<{ exitCode: number }> {
  if (req.signal?.aborted) throw new RunCancelledError('run cancelled before it started', { cause: req.signal.reason });
  const timeoutMs = req.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const stop = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  await checkPlatform(docker, quick, req);
  const container = await quick(`create a container of ${req.image}`, (abortSignal) =>
    docker.createContainer(createOptions(req, abortSignal)).catch((err: unknown) => notStarted(err, req)),
  );
  let failed = true;
  try {
    const result = await attachStartWait(container, quick, req, stop);
    failed = false;
    return result;
  } catch (err) {
    if (req.signal?.aborted) throw new RunCancelledError('run cancelled; its container was killed', { cause: err });
    if (timeout.aborted) throw new RunTimeoutError(timeoutMs, { cause: err });
    throw engineError(err, `run in ${req.image}`); // the attach or the wait broke off: the engine went away
  } finally {
    // A failed removal is reported only when it is the only failure; start-up cleanup finds the container by label.
    await quick(`remove container ${container.id}`, (abortSignal) =>
      container.remove({ force: true, v: true, abortSignal }).catch(ignoreGone),
    ).catch((err: unknown) => {
      if (!failed) throw err;
    });
  }
}

async function attachStartWait(container: Docker.Container, quick: QuickCall, req: RunRequest, stop: AbortSignal): Promise<{ exitCode: number }> {
  const output = new ContainerOutput(req.onLog);
  const stream = (await container.attach({ stream: true, stdout: true, stderr: true, abortSignal: stop })) as unknown as Readable;
  // docker-modem gives the signal to the request only; the response must end on abort too.
  addAbortSignal(stop, stream);
  const drained = drain(stream, output);
  void drained.catch(() => undefined); // awaited below, unless the start fails first
  try {
    await quick(`start container ${container.id}`, (abortSignal) => container.start({ abortSignal }).catch((err: unknown) => notStarted(err, req)));
    const { StatusCode } = (await container.wait({ abortSignal: stop })) as { StatusCode: number };
    await drained; // the engine ends the stream after the last output, maybe after the wait answers
    return { exitCode: StatusCode };
  } finally {
    stream.destroy();
    output.end();
  }
}

async function drain(stream: Readable, output: ContainerOutput): Promise<void> {
  for await (const chunk of stream) output.write(chunk as Buffer);
}

function createOptions(req: RunRequest, abortSignal: AbortSignal): Docker.ContainerCreateOptions {
  const body: Docker.ContainerCreateOptions = {
    Image: req.image,
    Cmd: req.command,
    Labels: req.labels,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: { NetworkMode: 'none', AutoRemove: false },
  };
  // docker-modem sends plain options as the body and the query string both; these say which is which.
  // `platform` on create needs API 1.41; dockerd then refuses some images of other platforms.
  return { _query: { platform: req.platform.toString() }, _body: body, abortSignal } as Docker.ContainerCreateOptions;
}

/** The engine's "bad request" on create or start: the command cannot run in this image. */
function notStarted(err: unknown, req: RunRequest): never {
  if (statusOf(err) !== 400) throw err;
  // "failed to create shim task: OCI runtime create failed: runc create failed: unable to start
  // container process: exec: "x": executable file not found in $PATH: unknown": the end says it.
  const text = engineMessage(err);
  const reason = /unable to start container process: (.*?)(?:: unknown)?$/.exec(text)?.[1] ?? text;
  throw new RunNotStartedError(req.image, req.command, reason, { cause: err });
}

/**
 * The engine's own check is lenient (it runs an arm/v7 image asked for linux/arm64), and a
 * smoke run of the wrong platform's image would prove nothing; so archfarm checks first.
 */
async function checkPlatform(docker: Docker, quick: QuickCall, req: RunRequest): Promise<void> {
  const image = await quick(`inspect image ${req.image}`, () => docker.getImage(req.image).inspect());
  const actual = [image.Os, image.Architecture, image.Variant].filter(Boolean).join('/');
  if (!platformMatches(image, req.platform)) throw new ImagePlatformMismatchError(req.image, req.platform.toString(), actual);
}

function platformMatches(image: { Os: string; Architecture: string; Variant?: string | undefined }, wanted: Platform): boolean {
  let actual: Platform;
  try {
    actual = Platform.of(image.Os, image.Architecture, image.Variant || undefined);
  } catch {
    return false; // an OS or CPU archfarm does not know is not the one asked for
  }
  // Image configs often carry no variant (BuildKit writes none for amd64); then the CPU decides.
  if (!image.Variant) return actual.os === wanted.os && actual.architecture === wanted.architecture;
  return actual.equals(wanted);
}
