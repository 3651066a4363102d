import type { Platform } from '@archfarm/common';
import type { ModeName } from '@archfarm/proto';

/**
 * How a build may use emulation (`archfarm build --emulation`):
 * - `prefer-native` (default): emulate only when no native agent is connected for the platform,
 *   or none frees up within {@link PlacementSettings.nativeWaitMs};
 * - `deny`: never emulate; fail at once when no native agent is connected for the platform;
 * - `allow`: native and emulating agents compete on expected duration.
 */
export type EmulationPolicy = 'prefer-native' | 'deny' | 'allow';

/** The part of a connected agent that placement looks at. */
export interface AgentView {
  name: string;
  platforms: ReadonlyArray<{ platform: Platform; mode: ModeName }>;
  /** Concurrent jobs it accepts (`archfarm-agent --slots`). */
  slots: number;
  /** Jobs it runs now. */
  busy: number;
  labels: Record<string, string>;
  /** `archfarm agents drain`: running jobs finish, no new ones start. */
  drained: boolean;
}

/** The part of a queued platform job that placement looks at. */
export interface JobView {
  platform: Platform;
  emulation: EmulationPolicy;
  /** `--require-label k=v`: an agent must carry every one. */
  requireLabels: Record<string, string>;
  /** History key: the image repository without tag, e.g. "127.0.0.1:5000/team/app". */
  repository: string;
  /** From {@link analyzeDockerfile}: heavy stages run on the builder's own CPU. */
  crossCompile: boolean;
  /** Agents that failed this job: used only when no other agent can take it now. */
  avoid: ReadonlySet<string>;
  /** How long the job has been queued so far. */
  waitedMs: number;
}

export interface PlacementSettings {
  /** prefer-native: how long to wait for a busy native agent before emulating. Default 30000. */
  nativeWaitMs: number;
  /** Emulated duration ≈ native duration × this, for estimates without history. Default 5. */
  emulationFactor: number;
  /** The same factor for a cross-compiling Dockerfile (little runs under QEMU). Default 1.3. */
  crossCompileFactor: number;
}

/** What to do with one queued job now; `reason` is a short sentence for operators. */
export type Decision =
  | { kind: 'place'; agent: string; mode: ModeName; reason: string }
  /** An eligible agent exists, or may connect or free up. */
  | { kind: 'wait'; reason: string }
  /** Cannot succeed with the agents of this kind (e.g. --emulation deny and no native agent): fail now. */
  | { kind: 'impossible'; reason: string };

/** An agent that serves the job's platform in a mode the job allows. */
export interface Candidate {
  name: string;
  mode: ModeName;
  free: number;
  busy: number;
}
