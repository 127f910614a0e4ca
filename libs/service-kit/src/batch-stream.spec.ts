import { EventEmitter } from 'node:events';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { DomainError } from './domain-errors';
import { serveBatchStream } from './batch-stream';

/** Enough of a duplex call to drive the helper: data/end/error events in, write/end out. */
function fakeCall() {
  const emitter = new EventEmitter();
  const out: unknown[] = [];
  let ended = false;
  const call = Object.assign(emitter, {
    write: (x: unknown) => out.push(x),
    end: () => {
      ended = true;
    },
  }) as unknown as ServerDuplexStream<number, string>;
  return { call, emitter, out, ended: () => ended };
}

describe('serveBatchStream', () => {
  it('answers in arrival order even when later batches finish first', async () => {
    const { call, emitter, out, ended } = fakeCall();
    const done = serveBatchStream(
      call,
      (n: number) => new Promise<string>((r) => setTimeout(() => r(`done ${n}`), 30 - n * 10)),
      (n) => `refused ${n}`,
    );
    [1, 2, 3].forEach((n) => emitter.emit('data', n));
    emitter.emit('end');
    await done;
    expect(out).toEqual(['done 1', 'done 2', 'done 3']);
    expect(ended()).toBe(true);
  });

  it('answers a batch refused with a domain error and goes on', async () => {
    const { call, emitter, out } = fakeCall();
    const done = serveBatchStream(
      call,
      (n: number) => {
        if (n === 2)
          throw new DomainError('invalid-argument', 'two is not allowed', { field: 'n', value: 2 });
        return `ok ${n}`;
      },
      (n, err) => `refused ${n}: ${err.message}`,
    );
    [1, 2, 3].forEach((n) => emitter.emit('data', n));
    emitter.emit('end');
    await done;
    expect(out).toEqual(['ok 1', 'refused 2: two is not allowed', 'ok 3']);
  });

  it('fails the call on any other error', async () => {
    const { call, emitter } = fakeCall();
    const done = serveBatchStream(
      call,
      () => {
        throw new TypeError('bug');
      },
      () => 'refused',
    );
    emitter.emit('data', 1);
    await expect(done).rejects.toThrow('bug');
  });
});
