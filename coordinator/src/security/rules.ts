import type { Requirement } from './authorizer';

/**
 * Who may call what, in one table. Roles nest (admin > builder > viewer); agents are not an
 * operator role and operators are not agents.
 */
export const AGENT_RULES: Record<string, Requirement> = {
  connect: 'agent',
  fetchContext: 'agent',
  uploadLog: 'agent',
  logOffset: 'agent',
};

export const BUILD_RULES: Record<string, Requirement> = {
  uploadContext: 'builder',
  hasContext: 'builder',
  submitBuild: 'builder',
  planBuild: 'builder',
  cancelBuild: 'builder',
  watchBuild: 'viewer',
  streamLogs: 'viewer',
  inspectBuild: 'viewer',
  listBuilds: 'viewer',
  listAgents: 'viewer',
  drainAgent: 'admin',
  resumeAgent: 'admin',
};

export const AUTH_RULES: Record<string, Requirement> = {
  enrol: 'public',
  renewCertificate: 'agent',
  createToken: 'admin',
  revokeAgent: 'admin',
  forgetAgent: 'admin',
  listTokens: 'admin',
  revokeToken: 'admin',
  // The organisation's stored logins: a builder could otherwise overwrite them with its own.
  registryLogin: 'admin',
  registryLogout: 'admin',
  whoAmI: 'anyone-known',
};

/** Builders add schedules and manage their own (the handler checks the owner); admins all. */
export const SCHEDULE_RULES: Record<string, Requirement> = {
  addSchedule: 'builder',
  listSchedules: 'viewer',
  getSchedule: 'viewer',
  runSchedule: 'builder',
  pauseSchedule: 'builder',
  resumeSchedule: 'builder',
  removeSchedule: 'builder',
};

/** The provenance public key is no secret, but only known callers learn it, as with every other RPC. */
export const PROVENANCE_RULES: Record<string, Requirement> = {
  getKey: 'anyone-known',
};
