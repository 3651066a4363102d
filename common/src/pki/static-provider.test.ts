import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { InvalidInputError } from '../errors';
import { caFingerprint, createCa, type CertificateAndKey } from './ca';
import { createKeyAndCsr } from './csr';
import { discoverCa } from './discover-ca';
import { certificateIdentity, type PeerIdentity } from './peer';
import { COORDINATOR_TLS_NAME, issueServerCert } from './server-cert';
import { signClientCsr } from './sign-csr';
import { staticCertificateProvider } from './static-provider';

const WHO_AM_I = '/archfarm.test.Pki/WhoAmI';
const bytes = (b: Buffer): Buffer => b;

interface Answer {
  transport: string | null;
  identity: PeerIdentity | null;
}

/** A one-method service that answers with what grpc-js says about the caller's certificate. */
const service: grpc.ServiceDefinition = {
  whoAmI: {
    path: WHO_AM_I,
    requestStream: false,
    responseStream: false,
    requestSerialize: bytes,
    requestDeserialize: bytes,
    responseSerialize: bytes,
    responseDeserialize: bytes,
  },
};

let ca: CertificateAndKey;
let port: number;
const server = new grpc.Server();

before(async () => {
  ca = await createCa('archfarm CA');
  const serverCert = await issueServerCert(ca, { ips: ['127.0.0.1'] });
  const provider = staticCertificateProvider({ caPem: ca.certPem, certPem: serverCert.certPem + ca.certPem, keyPem: serverCert.keyPem });
  server.addService(service, {
    whoAmI: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const auth = call.getAuthContext();
      const answer: Answer = { transport: auth.transportSecurityType ?? null, identity: certificateIdentity(auth.sslPeerCertificate) ?? null };
      callback(null, Buffer.from(JSON.stringify(answer)));
    },
  });
  // Client certificates requested, not required: operators call with tokens, agents with certificates.
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
  port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
});
after(() => server.forceShutdown());

async function whoAmI(credentials: grpc.ChannelCredentials): Promise<Answer> {
  const client = new grpc.Client(`127.0.0.1:${port}`, credentials, { 'grpc.ssl_target_name_override': COORDINATOR_TLS_NAME });
  try {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      client.makeUnaryRequest(WHO_AM_I, bytes, bytes, Buffer.alloc(0), (err, value) => (err || !value ? reject(err) : resolve(value)));
    });
    return JSON.parse(reply.toString()) as Answer;
  } finally {
    client.close();
  }
}

async function clientCert(caToSign: CertificateAndKey, name: string): Promise<{ keyPem: string; certPem: string }> {
  const { keyPem, csrPem } = await createKeyAndCsr(name);
  const { certPem } = await signClientCsr(caToSign, csrPem, { name, validMs: 3_600_000 });
  return { keyPem, certPem };
}

test('grpc-js: a client certificate from our CA reaches the handler with its name', async () => {
  const agent = await clientCert(ca, 'pi-1');
  const answer = await whoAmI(grpc.credentials.createSsl(Buffer.from(ca.certPem), Buffer.from(agent.keyPem), Buffer.from(agent.certPem)));
  assert.equal(answer.transport, 'ssl');
  assert.equal(answer.identity?.name, 'pi-1');
  assert.ok(new Date(answer.identity?.notAfter ?? 0) > new Date());
});

test('grpc-js: a client without a certificate is served, anonymously', async () => {
  const answer = await whoAmI(grpc.credentials.createSsl(Buffer.from(ca.certPem)));
  assert.deepEqual(answer, { transport: null, identity: null });
});

test('grpc-js: a client certificate from another CA is served, anonymously', async () => {
  const other = await createCa('archfarm CA');
  const rogue = await clientCert(other, 'pi-1');
  const answer = await whoAmI(grpc.credentials.createSsl(Buffer.from(ca.certPem), Buffer.from(rogue.keyPem), Buffer.from(rogue.certPem)));
  assert.deepEqual(answer, { transport: null, identity: null });
});

test('grpc-js: an agent discovers the CA from the gRPC port itself', async () => {
  assert.equal(await discoverCa('127.0.0.1', port, caFingerprint(ca.certPem)), ca.certPem);
});

test('staticCertificateProvider wants a certificate and its key together', () => {
  assert.throws(() => staticCertificateProvider({ certPem: ca.certPem }), InvalidInputError);
});
