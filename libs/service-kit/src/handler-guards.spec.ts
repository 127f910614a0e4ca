import { EventEmitter } from 'node:events';
import {
  status,
  type handleUnaryCall,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { DomainError } from './domain-errors';
import { guardImplementation, guardServerStreaming, guardUnary } from './handler-guards';
import type { StatusError } from './status-table';

/** Just enough of a unary call for a guard. */
function fakeUnaryCall(): ServerUnaryCall<string, string> {
  return { getPath: () => '/t.v1.T/M', request: 'req' } as unknown as ServerUnaryCall<string, string>;
}

function runUnary(handler: Parameters<typeof guardUnary<string, string>>[0], onInternalError = jest.fn()) {
  return new Promise<{ error: StatusError | null; value: unknown; calls: number }>((resolve) => {
    let calls = 0;
    const callback: sendUnaryData<string> = (error, value) => {
      calls++;
      // Let a second, illegal answer show up before resolving.
      setImmediate(() => resolve({ error: error as StatusError | null, value, calls }));
    };
    guardUnary(handler, { onInternalError })(fakeUnaryCall(), callback);
  });
}

describe('guardUnary', () => {
  it('passes an answer through the callback', async () => {
    expect(await runUnary((_call, cb) => cb(null, 'ok'))).toMatchObject({
      error: null,
      value: 'ok',
      calls: 1,
    });
  });

  it('sends a returned value or a resolved promise as the response', async () => {
    expect(await runUnary(() => 'direct')).toMatchObject({ value: 'direct', calls: 1 });
    expect(await runUnary(async () => 'later')).toMatchObject({ value: 'later', calls: 1 });
  });

  it('maps a synchronous throw', async () => {
    const { error } = await runUnary(() => {
      throw new DomainError('invalid-argument', 'order 11 is above 10', { field: 'order', value: 11 });
    });
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(error?.details).toBe('order 11 is above 10');
  });

  it('maps a rejected promise', async () => {
    const { error } = await runUnary(async () => {
      throw new DomainError('failed-precondition', 'pfn 7 is not allocated', { field: 'pfn', value: 7 });
    });
    expect(error?.code).toBe(status.FAILED_PRECONDITION);
  });

  it('maps a domain error handed to the callback', async () => {
    const { error } = await runUnary((_call, cb) =>
      cb(new DomainError('not-found', 'no device "x"') as never),
    );
    expect(error?.code).toBe(status.NOT_FOUND);
  });

  it('reports unexpected errors to onInternalError and answers INTERNAL once', async () => {
    const onInternalError = jest.fn();
    const { error, calls } = await runUnary((_call, cb) => {
      cb(null, 'first');
      throw new Error('after answering');
    }, onInternalError);
    expect(error).toBeNull();
    expect(calls).toBe(1);
    expect(onInternalError).toHaveBeenCalledTimes(1);

    const bug = await runUnary(() => {
      throw new TypeError('undefined is not a function');
    }, onInternalError);
    expect(bug.error?.code).toBe(status.INTERNAL);
    expect(onInternalError).toHaveBeenLastCalledWith(expect.any(TypeError), '/t.v1.T/M');
  });
});

describe('guardServerStreaming', () => {
  function fakeStream() {
    const stream = Object.assign(new EventEmitter(), {
      getPath: () => '/t.v1.T/S',
      request: 'req',
      writableEnded: false,
      destroyed: false,
      end: jest.fn(() => {
        stream.writableEnded = true;
      }),
    });
    return stream;
  }

  it('ends the call when an async handler resolves', async () => {
    const stream = fakeStream();
    guardServerStreaming(async () => undefined)(stream as unknown as ServerWritableStream<string, string>);
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.end).toHaveBeenCalledTimes(1);
  });

  it('turns a throw into an error event carrying the status', async () => {
    const stream = fakeStream();
    const errors: StatusError[] = [];
    stream.on('error', (e: StatusError) => errors.push(e));
    guardServerStreaming(async () => {
      throw new DomainError('out-of-range', 'address beyond TASK_SIZE');
    })(stream as unknown as ServerWritableStream<string, string>);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.map((e) => e.code)).toEqual([status.OUT_OF_RANGE]);
  });
});

describe('guardImplementation', () => {
  const definition = {
    Get: { path: '/t.v1.T/Get', requestStream: false, responseStream: false, originalName: 'get' },
    Watch: { path: '/t.v1.T/Watch', requestStream: false, responseStream: true },
  } as unknown as ServiceDefinition;

  it('keeps `this` for handlers written as class methods, found by name or original name', async () => {
    class Rpc {
      private readonly answer = 'from the instance';
      get(): string {
        return this.answer;
      }
    }
    const guarded = guardImplementation(definition, new Rpc() as unknown as UntypedServiceImplementation);
    expect(Object.keys(guarded)).toEqual(['get']);
    const value = await new Promise((resolve) =>
      (guarded['get'] as handleUnaryCall<string, string>)(fakeUnaryCall(), (_e, v) => resolve(v)),
    );
    expect(value).toBe('from the instance');
  });
});
