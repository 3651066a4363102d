/** archfarm's PKI: the coordinator's CA, server and agent certificates, and CA discovery by pinned key. */
export * from './errors';
export { createCa, caFingerprint, type CertificateAndKey } from './ca';
export { parseCaFingerprint } from './fingerprint';
export { issueServerCert, COORDINATOR_TLS_NAME, type ServerCertOptions } from './server-cert';
export { createKeyAndCsr, type KeyAndCsr } from './csr';
export { signClientCsr, type SignCsrOptions, type SignedClientCert } from './sign-csr';
export { certificateIdentity, type PeerIdentity } from './peer';
export { discoverCa, type DiscoverCaOptions } from './discover-ca';
export { staticCertificateProvider, type StaticCertificates } from './static-provider';
