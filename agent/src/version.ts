/** Reported in Hello and shown by `archfarm agents`. */
export const AGENT_VERSION = '0.1.0';
