import {
  InterceptingCall,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type Client,
  type ClientOptions,
  type Interceptor,
  type ServiceError,
} from '@grpc/grpc-js';

/** A unary call should answer fast; only uploads and watches may take long. */
export const DEFAULT_DEADLINE_MS = 30_000;

/** A unary method as ts-proto describes it in a service definition (`BuildServiceService.hasContext`). */
interface UnaryDefinition<Req, Res> {
  readonly path: string;
  readonly requestStream: false;
  readonly responseStream: false;
  requestSerialize(value: Req): Buffer;
  responseDeserialize(value: Buffer): Res;
}

/** What one unary call may change. */
export interface CallSettings {
  /** This call's deadline instead of the client's (a git fetch the coordinator does inline). */
  readonly deadlineMs?: number;
}

/** A unary method as a promise: it rejects with what {@link ClientSettings.mapError} makes of a failure. */
export type UnaryCall<Req, Res> = (request: Req, settings?: CallSettings) => Promise<Res>;

/**
 * A service's client: unary methods are promises with a deadline, streaming methods are the
 * generated ones (their callers own their lifetime: a watch may last hours).
 */
export type TypedClient<C, D> = {
  readonly [K in keyof D & keyof C]: D[K] extends UnaryDefinition<infer Req, infer Res> ? UnaryCall<Req, Res> : C[K];
} & {
  /** The generated client, for what the typed one does not cover. */
  readonly raw: C;
  close(): void;
};

export interface ClientSettings {
  /** Each unary call's deadline unless the call gives its own; {@link DEFAULT_DEADLINE_MS} by default. */
  readonly deadlineMs?: number;
  /** Sent with every call, unary or streaming (the caller's program, version and protocol). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A failed unary call's error, from grpc-js's; `rpc` is the method's name ("SubmitBuild"). The error itself by default. */
  readonly mapError?: (err: ServiceError, rpc: string) => Error;
}

/** What ts-proto generates for a service: `BuildServiceClient`, with its definition as `service`. */
export interface GeneratedClient<C, D> {
  new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>): C;
  readonly service: D;
}

/**
 * The one way archfarm programs make a client of a coordinator service: every unary method
 * is a promise with a deadline and one error mapping, every call carries `settings.headers`.
 * `createClient(BuildServiceClient, address, creds, options, settings).submitBuild(req)`.
 */
export function createClient<C extends Client, D extends object>(
  generated: GeneratedClient<C, D>,
  address: string,
  credentials: ChannelCredentials,
  options: Partial<ClientOptions> = {},
  settings: ClientSettings = {},
): TypedClient<C, D> {
  const headers = settings.headers ?? {};
  const interceptors = Object.keys(headers).length === 0 ? (options.interceptors ?? []) : [withHeaders(headers), ...(options.interceptors ?? [])];
  const raw = new generated(address, credentials, { ...options, interceptors });
  const typed: Record<string, unknown> = { raw, close: () => raw.close() };
  for (const [name, method] of Object.entries(generated.service) as [string, { path: string; requestStream: boolean; responseStream: boolean }][]) {
    const bound = (raw as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!.bind(raw);
    typed[name] = method.requestStream || method.responseStream ? bound : unaryCall(bound, rpcName(method.path), settings);
  }
  return typed as TypedClient<C, D>;
}

type Callback = (err: ServiceError | null, res: unknown) => void;

function unaryCall(method: (req: unknown, md: Metadata, options: Partial<CallOptions>, cb: Callback) => unknown, rpc: string, settings: ClientSettings) {
  const mapError = settings.mapError ?? ((err: ServiceError) => err);
  return (request: unknown, call: CallSettings = {}): Promise<unknown> => {
    const deadline = Date.now() + (call.deadlineMs ?? settings.deadlineMs ?? DEFAULT_DEADLINE_MS);
    return new Promise((resolve, reject) => {
      method(request, new Metadata(), { deadline }, (err, res) => (err ? reject(mapError(err, rpc)) : resolve(res)));
    });
  };
}

/** "/archfarm.v1.BuildService/SubmitBuild" -> "SubmitBuild", the name errors and logs use. */
export function rpcName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Adds fixed headers to every call's metadata. */
function withHeaders(headers: Readonly<Record<string, string>>): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
        next(metadata, listener);
      },
    });
}

/** The trailer in which the coordinator sends its error's stable code (`PROTOCOL_MISMATCH`). */
export const ERROR_CODE_TRAILER = 'archfarm-code';

/** The coordinator's stable error code of a failed call, when it sent one. */
export function remoteCodeOf(err: unknown): string | undefined {
  const metadata = (err as Partial<ServiceError> | null)?.metadata;
  const value = typeof metadata?.get === 'function' ? metadata.get(ERROR_CODE_TRAILER)[0] : undefined;
  return value === undefined ? undefined : String(value);
}
