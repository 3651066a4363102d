import { X509Certificate } from 'node:crypto';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { errorMessage } from '../errors';
import { CaChainInvalidError, CaDiscoveryError, CaFingerprintMismatchError } from './errors';
import { parseCaFingerprint, spkiFingerprint } from './fingerprint';
import { COORDINATOR_TLS_NAME } from './server-cert';

export interface DiscoverCaOptions {
  /** Give up on the connection and handshake after this long. Default 10 000 ms. */
  timeoutMs?: number;
}

/**
 * kubeadm-style CA discovery for a joining agent: connect without verifying (there is no CA to
 * verify with yet), then trust the chain only if it holds a certificate whose public key has
 * the operator-given `fingerprint` (`sha256:<hex>`, see caFingerprint) and that certificate
 * signed the server's. The TLS handshake proved the server holds its certificate's key, so a
 * server that merely copied the CA certificate fails. Returns the CA certificate as PEM.
 * Throws CaFingerprintMismatchError, CaChainInvalidError, or CaDiscoveryError (unreachable).
 */
export async function discoverCa(host: string, port: number, fingerprint: string, options: DiscoverCaOptions = {}): Promise<string> {
  const expected = parseCaFingerprint(fingerprint);
  const chain = await fetchPeerChain(host, port, options.timeoutMs ?? 10_000);
  return pinnedCa(chain, expected).toString();
}

function fetchPeerChain(host: string, port: number, timeoutMs: number): Promise<X509Certificate[]> {
  const address = `${host}:${port}`;
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      servername: COORDINATOR_TLS_NAME,
      // Unverified on purpose: the pinned fingerprint, checked below, is the trust anchor.
      rejectUnauthorized: false,
      // grpc-js serves HTTP/2 only and refuses a handshake that does not offer h2.
      ALPNProtocols: ['h2'],
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)));
    socket.on('error', (err) => reject(new CaDiscoveryError(address, errorMessage(err), { cause: err })));
    socket.once('secureConnect', () => {
      try {
        resolve(peerChain(socket.getPeerCertificate(true)));
      } catch (err) {
        reject(new CaDiscoveryError(address, `unreadable certificate: ${errorMessage(err)}`, { cause: err }));
      } finally {
        socket.destroy();
      }
    });
  });
}

/** Leaf first, then each issuer Node found; a self-signed root points at itself, hence `seen`. */
function peerChain(leaf: DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let cert: DetailedPeerCertificate | undefined = leaf;
  while (cert?.raw !== undefined && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(new X509Certificate(cert.raw));
    cert = cert.issuerCertificate;
  }
  return chain;
}

function pinnedCa(chain: X509Certificate[], expected: string): X509Certificate {
  const index = chain.findIndex((cert) => spkiFingerprint(cert) === expected);
  const ca = chain[index];
  if (ca === undefined) {
    const top = chain[chain.length - 1];
    throw new CaFingerprintMismatchError(expected, top === undefined ? undefined : spkiFingerprint(top));
  }
  if (!ca.ca) throw new CaChainInvalidError(`the certificate with key ${expected} is not a CA`);
  for (let i = 0; i < index; i++) {
    const [cert, issuer] = [chain[i], chain[i + 1]];
    if (cert === undefined || issuer === undefined || !cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) {
      throw new CaChainInvalidError(`"${cert?.subject ?? '?'}" was not signed by "${issuer?.subject ?? '?'}"`);
    }
  }
  const leaf = chain[0];
  if (index > 0 && leaf?.checkHost(COORDINATOR_TLS_NAME) === undefined) {
    throw new CaChainInvalidError(`the server certificate does not name ${COORDINATOR_TLS_NAME}, so it is not the coordinator's`);
  }
  return ca;
}
