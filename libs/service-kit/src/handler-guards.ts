import type {
  handleBidiStreamingCall,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  sendUnaryData,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { isDomainError } from './domain-errors';
import { isStatusError, toServiceError, type StatusError } from './status-table';

/**
 * Guards turn whatever a handler throws (synchronously, or by rejecting its promise) into the
 * status from the error table, so one bad request can never crash the service.
 *
 * A guarded unary / client-streaming handler may answer through the callback as usual, or
 * return (a promise of) the response. A guarded streaming handler that returns a promise has
 * its call ended when the promise resolves, unless it already ended it.
 */
export interface GuardOptions {
  /** Told of every error that maps to INTERNAL (a bug), with the full error, stack included. */
  onInternalError?: (err: unknown, path: string) => void;
}

export type UnaryHandler<Req, Res> = (
  call: ServerUnaryCall<Req, Res>,
  callback: sendUnaryData<Res>,
) => void | Res | Promise<void | Res>;

export type ClientStreamingHandler<Req, Res> = (
  call: ServerReadableStream<Req, Res>,
  callback: sendUnaryData<Res>,
) => void | Res | Promise<void | Res>;

export type ServerStreamingHandler<Req, Res> = (call: ServerWritableStream<Req, Res>) => void | Promise<void>;

export type BidiStreamingHandler<Req, Res> = (call: ServerDuplexStream<Req, Res>) => void | Promise<void>;

export function guardUnary<Req, Res>(
  handler: UnaryHandler<Req, Res>,
  options: GuardOptions = {},
): handleUnaryCall<Req, Res> {
  return (call, callback) => runWithCallback(handler, call, callback, call.getPath(), options);
}

export function guardClientStreaming<Req, Res>(
  handler: ClientStreamingHandler<Req, Res>,
  options: GuardOptions = {},
): handleClientStreamingCall<Req, Res> {
  return (call, callback) => runWithCallback(handler, call, callback, call.getPath(), options);
}

export function guardServerStreaming<Req, Res>(
  handler: ServerStreamingHandler<Req, Res>,
  options: GuardOptions = {},
): handleServerStreamingCall<Req, Res> {
  return (call) => runStreaming(handler, call, options);
}

export function guardBidiStreaming<Req, Res>(
  handler: BidiStreamingHandler<Req, Res>,
  options: GuardOptions = {},
): handleBidiStreamingCall<Req, Res> {
  return (call) => runStreaming(handler, call, options);
}

/**
 * Guards every handler of a service implementation, choosing the guard from the method
 * definition (unary, client-, server- or bidi-streaming). Methods the implementation lacks
 * stay missing, so grpc-js answers UNIMPLEMENTED for them.
 */
export function guardImplementation(
  definition: ServiceDefinition,
  implementation: UntypedServiceImplementation,
  options: GuardOptions = {},
): UntypedServiceImplementation {
  // Built fresh rather than spread: a class instance keeps its handlers on the prototype.
  const guarded: UntypedServiceImplementation = {};
  const source = implementation as Record<string, unknown>;
  for (const [name, method] of Object.entries(definition)) {
    const key = typeof source[name] === 'function' ? name : method.originalName;
    if (key === undefined || typeof source[key] !== 'function') continue;
    // Bound, so a handler written as a class method keeps its `this`.
    const handler = (source[key] as (...args: never[]) => unknown).bind(implementation);
    if (method.requestStream && method.responseStream) {
      guarded[key] = guardBidiStreaming(handler as BidiStreamingHandler<unknown, unknown>, options);
    } else if (method.requestStream) {
      guarded[key] = guardClientStreaming(handler as ClientStreamingHandler<unknown, unknown>, options);
    } else if (method.responseStream) {
      guarded[key] = guardServerStreaming(handler as ServerStreamingHandler<unknown, unknown>, options);
    } else {
      guarded[key] = guardUnary(handler as UnaryHandler<unknown, unknown>, options);
    }
  }
  return guarded;
}

function runWithCallback<C, Res>(
  handler: (call: C, callback: sendUnaryData<Res>) => void | Res | Promise<void | Res>,
  call: C,
  callback: sendUnaryData<Res>,
  path: string,
  options: GuardOptions,
): void {
  let answered = false;
  const answer: sendUnaryData<Res> = (error, value, trailer, flags) => {
    if (answered) return;
    answered = true;
    if (error) callback(mapError(error, path, options), null, trailer, flags);
    else callback(null, value, trailer, flags);
  };
  try {
    const result = handler(call, answer);
    if (isPromiseLike(result)) {
      result.then(
        (value) => {
          if (value !== undefined) answer(null, value);
        },
        (err: unknown) => answer(mapError(err, path, options)),
      );
    } else if (result !== undefined) {
      answer(null, result);
    }
  } catch (err) {
    answer(mapError(err, path, options));
  }
}

type StreamingCall = (ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>) & {
  writableEnded: boolean;
  iterator?: (options: { destroyOnReturn: boolean }) => AsyncIterableIterator<unknown>;
  /** grpc-js's underlying call (an internal of ServerWritableStreamImpl / ServerDuplexStreamImpl). */
  call?: { sendStatus?: (status: StatusError) => void };
};

function runStreaming<C extends { getPath(): string }>(
  handler: (call: C) => void | Promise<void>,
  call: C,
  options: GuardOptions,
): void {
  const stream = call as unknown as StreamingCall;
  const path = call.getPath();
  // `for await (const m of call)` destroys the stream when the loop body throws, and grpc-js
  // then never sends a status (the client would wait for its deadline). Keep the stream alive
  // so the error below can still become the call's status.
  if (typeof stream.iterator === 'function') {
    const iterator = stream.iterator.bind(stream);
    Object.defineProperty(stream, Symbol.asyncIterator, {
      value: () => iterator({ destroyOnReturn: false }),
      configurable: true,
    });
  }
  const fail = (err: unknown): void => {
    if (stream.writableEnded) return;
    const status = mapError(err, path, options);
    if (stream.destroyed) {
      // Destroyed by the handler: end the call directly, or it would never finish.
      stream.call?.sendStatus?.(status);
      return;
    }
    // grpc-js turns an 'error' event on a server stream into the call's status.
    stream.emit('error', status);
  };
  try {
    const result = handler(call);
    if (isPromiseLike(result)) {
      result.then(() => {
        if (!stream.writableEnded && !stream.destroyed) stream.end();
      }, fail);
    }
  } catch (err) {
    fail(err);
  }
}

function mapError(err: unknown, path: string, options: GuardOptions): StatusError {
  if (!isDomainError(err) && !isStatusError(err)) options.onInternalError?.(err, path);
  return toServiceError(err);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}
