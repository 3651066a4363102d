import type { sendUnaryData } from '@grpc/grpc-js';
import { InvalidInputError } from '@archfarm/common';
import { toServiceError } from './grpc-errors';

/**
 * A unary handler from an async function: its result is the response, anything it throws
 * goes through the one error mapping. `call` is passed on for the caller's identity.
 */
export function unary<Req, Res>(fn: (req: Req, call: object) => Promise<Res> | Res) {
  return (call: { request: Req }, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err)),
      );
  };
}

const AGENT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;

/** Agent names are certificate CNs and label values: one rule, wherever a name enters. */
export function checkAgentName(name: string, field: string): string {
  if (!AGENT_NAME.test(name)) throw new InvalidInputError(field, `agent name "${name}" must be 1-63 letters, digits, '.', '_' or '-'`);
  return name;
}
