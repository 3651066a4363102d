/**
 * The cross-process test support as a library, so bench/ drives the same real coordinator,
 * agents, registry and CLI as the end-to-end tests (import it as `@archfarm/test`).
 */
export { TestFleet, type AgentSpec, type FleetOptions } from './support/fleet';
export { BIN, ROOT, collect, freePort, run, waitForOutput, type RunResult } from './support/processes';
export { testRegistry, uniqueRepository } from './support/registry';
export { skopeoInspect, type SkopeoResult } from './support/skopeo';
export { baseImage, makeContext } from './support/context';
export { inspect, submitDetached, waitFor, type Inspected } from './support/builds';
export { agentClient, agentIdentity, buildClient, clientCertCredentials, operatorCredentials } from './support/grpc';
export { bundleAgent, foreignNode, PROCESS_ARCH, startForeignAgent, type ForeignAgent, type ForeignArch } from './support/foreign-node';
export { pushTinyImage } from './support/oci-fixture';
