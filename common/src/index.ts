/** Domain values and helpers shared by the archfarm coordinator, agent and CLI. */
export * from './errors';
export * from './platform';
export * from './image-ref';
export * from './logger';
export * from './registry';
export * from './pki';
export * from './retention';
export * from './git-source';
export * from './ops-http';
export * from './version';
export * from './host-port';
export * from './daemon-settings';
export * from './provenance';
