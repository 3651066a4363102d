/** Registry client (OCI distribution API), OCI types and Docker credential lookup. */
export * from './oci';
export * from './errors';
export * from './digest';
export * from './www-authenticate';
export * from './registry-auth';
export * from './registry-client';
export * from './docker-config';
export * from './docker-credential-helper';
export * from './realm-policy';
