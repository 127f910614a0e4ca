import { Metadata, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { DEFAULT_DEADLINE_MS } from './client-pool';

/** The last overload of a generated unary method: (request, metadata, options, callback). */
type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall | void;

type RequestOf<F> = F extends (
  request: infer Req,
  metadata: Metadata,
  options: never,
  callback: never,
) => unknown
  ? Req
  : never;
type ResponseOf<F> = F extends (
  request: never,
  metadata: never,
  options: never,
  callback: (error: ServiceError | null, response: infer Res) => void,
) => unknown
  ? Res
  : never;

export interface UnaryCallOptions extends CallOptions {
  metadata?: Metadata;
}

/**
 * `client.method` as `(request, options?) => Promise<response>`. The call gets a deadline
 * `defaultDeadlineMs` from now unless `options.deadline` is set; a failed call rejects with the
 * grpc-js ServiceError (see `errorKindOf` for its domain kind).
 */
export function promisifyUnary<C extends object, K extends keyof C & string>(
  client: C,
  method: K,
  defaultDeadlineMs: number = DEFAULT_DEADLINE_MS,
): (request: RequestOf<C[K]>, options?: UnaryCallOptions) => Promise<ResponseOf<C[K]>> {
  const fn = client[method];
  if (typeof fn !== 'function')
    throw new TypeError(`promisifyUnary: client has no method ${JSON.stringify(method)}`);
  const call = fn as unknown as UnaryMethod<RequestOf<C[K]>, ResponseOf<C[K]>>;
  return (request, options = {}) =>
    new Promise((resolve, reject) => {
      const { metadata, ...callOptions } = options;
      if (callOptions.deadline === undefined) callOptions.deadline = Date.now() + defaultDeadlineMs;
      call.call(client, request, metadata ?? new Metadata(), callOptions, (error, response) => {
        if (error) reject(error);
        else resolve(response);
      });
    });
}
