import { BuildMode, type ErrorInfo } from './gen/archfarm/v1/types';

/** How a platform is built: on its own CPU or under QEMU user-mode emulation. */
export type ModeName = 'native' | 'emulated';

export function modeToWire(mode: ModeName): BuildMode {
  return mode === 'native' ? BuildMode.BUILD_MODE_NATIVE : BuildMode.BUILD_MODE_EMULATED;
}

/** Unknown wire values read as emulated: never claim native without being told. */
export function modeFromWire(mode: BuildMode): ModeName {
  return mode === BuildMode.BUILD_MODE_NATIVE ? 'native' : 'emulated';
}

/**
 * A thrown value as the wire's classified error. archfarm errors carry a stable `code` and
 * a `kind`; anything else is an unclassified infrastructure failure.
 */
export function toErrorInfo(err: unknown): ErrorInfo {
  const e = err as { code?: unknown; kind?: unknown; message?: unknown } | null;
  const message = err instanceof Error ? err.message : String(err);
  if (e && typeof e.code === 'string' && typeof e.kind === 'string') return { code: e.code, message, kind: e.kind };
  return { code: 'INTERNAL', message, kind: 'infrastructure' };
}
