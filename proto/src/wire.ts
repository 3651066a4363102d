import { BuildMode } from './gen/archfarm/v1/types';

/** How a platform is built: on its own CPU or under QEMU user-mode emulation. */
export type ModeName = 'native' | 'emulated';

export function modeToWire(mode: ModeName): BuildMode {
  return mode === 'native' ? BuildMode.BUILD_MODE_NATIVE : BuildMode.BUILD_MODE_EMULATED;
}

/** Unknown wire values read as emulated: never claim native without being told. */
export function modeFromWire(mode: BuildMode): ModeName {
  return mode === BuildMode.BUILD_MODE_NATIVE ? 'native' : 'emulated';
}
