/** The archfarm coordinator as a library (the binary is main.ts). */
export { Coordinator } from './coordinator';
export { COORDINATOR_DEFAULTS, type CoordinatorOptions } from './options';
export * from './publish';
export { RegistryAccess, type HostDockerConfig } from './registry-access';
export { BaseResolver, type BaseResolverDeps } from './schedules/base-resolver';
export { BUILD_PLATFORM, baseChanges, basesToResolve, distinctNeeds, type BaseInput, type BaseNeed, type BasePlan, type PlatformBases } from './schedules/base-digests';
/** Test support for other workspaces' tests: a database of its own on the test cluster (scripts/postgres.sh). */
export { createTestDatabase, withPostgres, type TestDatabase } from './testing/postgres';
