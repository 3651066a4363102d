/**
 * Test support (not used by the agent): an {@link Engine} without Docker. A build prints a
 * line every few ms and ends when the test says so (or at once), and rejects as the real
 * adapter does when its signal aborts; the saved image is a tiny real `docker save` archive.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Platform } from '@archfarm/common';
import { BuildCancelledError, tarArchive, type BaseImage, type BuildRequest, type Engine, type EngineInfo, type RunRequest } from '../engine';

/** One build the fake engine was asked for. */
export class FakeBuild {
  aborted = false;
  done = false;
  lines = 0;
  readonly result: Promise<{ imageId: string; bases: BaseImage[] }>;
  private finish: () => void = () => undefined;

  constructor(
    readonly req: BuildRequest,
    hold: boolean,
  ) {
    this.result = new Promise((resolve, reject) => {
      const timer = setInterval(() => req.onLog(`#2 fake build ${req.tag} line ${++this.lines}`), 20);
      const end = (fn: () => void) => {
        clearInterval(timer);
        req.signal?.removeEventListener('abort', onAbort);
        this.done = true;
        fn();
      };
      const onAbort = () => {
        this.aborted = true;
        end(() => reject(new BuildCancelledError('build cancelled', { cause: req.signal?.reason })));
      };
      if (req.signal?.aborted) return onAbort();
      req.signal?.addEventListener('abort', onAbort, { once: true });
      this.finish = () => end(() => resolve({ imageId: IMAGE_ID, bases: [] }));
      if (!hold) setTimeout(() => this.finish(), 60);
    });
    this.result.catch(() => undefined);
  }

  /** Ends a held build successfully. */
  succeed(): void {
    this.finish();
  }
}

export class FakeEngine implements Engine {
  readonly builds: FakeBuild[] = [];
  /** Builds wait for succeed() or their abort instead of ending after a few lines. */
  hold = false;

  info(): Promise<EngineInfo> {
    return Promise.resolve({ platform: Platform.parse('linux/amd64'), description: 'fake engine (linux/amd64)' });
  }

  build(req: BuildRequest): Promise<{ imageId: string; bases: BaseImage[] }> {
    const build = new FakeBuild(req, this.hold);
    this.builds.push(build);
    return build.result;
  }

  saveImage(): Promise<Readable> {
    return Promise.resolve(Readable.from([SAVED]));
  }

  removeImage(): Promise<void> {
    return Promise.resolve();
  }

  run(_req: RunRequest): Promise<{ exitCode: number }> {
    return Promise.resolve({ exitCode: 0 });
  }

  removeLeftovers(): Promise<number> {
    return Promise.resolve(0);
  }
}

const hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const LAYER = tarArchive([{ path: 'hello.txt', data: 'built by the fake engine\n' }]);
const CONFIG = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${hex(LAYER)}`] }, config: {} }));
const IMAGE_ID = `sha256:${hex(CONFIG)}`;
/** Docker 20.10's `docker save` layout of a one-layer image. */
const SAVED = tarArchive([
  { path: 'manifest.json', data: JSON.stringify([{ Config: `${hex(CONFIG)}.json`, RepoTags: [], Layers: ['l1/layer.tar'] }]) },
  { path: `${hex(CONFIG)}.json`, data: CONFIG },
  { path: 'l1/layer.tar', data: LAYER },
]);
