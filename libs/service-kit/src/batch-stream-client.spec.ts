import { EventEmitter } from 'node:events';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { BatchRefusedError, BatchStreamClient, type BatchAnswer } from './batch-stream-client';

interface Req {
  readonly batchId: bigint;
  readonly n: number;
}

/** A duplex call the test answers by hand: what was written, and the events to send back. */
class FakeStream extends EventEmitter {
  readonly written: Req[] = [];
  ended = false;
  write(r: Req) {
    this.written.push(r);
    return true;
  }
  end() {
    this.ended = true;
  }
  answer(batchId: bigint, failure = '') {
    this.emit('data', { batchId, failure } satisfies BatchAnswer);
  }
}

function setup(options: { maxAgeMs?: number; now?: () => number } = {}) {
  const streams: FakeStream[] = [];
  const client = new BatchStreamClient<Req, BatchAnswer>(
    'test stream',
    () => {
      const s = new FakeStream();
      streams.push(s);
      return s as unknown as ClientDuplexStream<Req, BatchAnswer>;
    },
    { idleCloseMs: 5, ...options },
  );
  return { client, streams };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('BatchStreamClient', () => {
  it('numbers batches, writes them in call order on one stream and matches answers in order', async () => {
    const { client, streams } = setup();
    const a = client.send((batchId) => ({ batchId, n: 1 }));
    const b = client.send((batchId) => ({ batchId, n: 2 }));
    await tick();
    expect(streams).toHaveLength(1);
    expect(streams[0].written.map((w) => [w.batchId, w.n])).toEqual([
      [1n, 1],
      [2n, 2],
    ]);
    expect(client.inFlight).toBe(2);
    streams[0].answer(1n);
    streams[0].answer(2n);
    await expect(a).resolves.toMatchObject({ batchId: 1n });
    await expect(b).resolves.toMatchObject({ batchId: 2n });
    client.close();
  });

  it('rejects a refused batch with its message and goes on', async () => {
    const { client, streams } = setup();
    const a = client.send((batchId) => ({ batchId, n: 1 }));
    const b = client.send((batchId) => ({ batchId, n: 2 }));
    await tick();
    streams[0].answer(1n, 'calls[0].pid=9: no such process');
    streams[0].answer(2n);
    await expect(a).rejects.toThrow(BatchRefusedError);
    await expect(a).rejects.toThrow('test stream refused a batch: calls[0].pid=9: no such process');
    await expect(b).resolves.toMatchObject({ batchId: 2n });
    client.close();
  });

  it('rejects an answer out of order', async () => {
    const { client, streams } = setup();
    const a = client.send((batchId) => ({ batchId, n: 1 }));
    await tick();
    streams[0].answer(7n);
    await expect(a).rejects.toThrow('batch 7 answered where 1 was expected');
    client.close();
  });

  it('fails what is in flight when the stream breaks, and opens a new stream for the next batch', async () => {
    const { client, streams } = setup();
    const a = client.send((batchId) => ({ batchId, n: 1 }));
    await tick();
    streams[0].emit('error', new Error('UNAVAILABLE'));
    await expect(a).rejects.toThrow('UNAVAILABLE');
    const b = client.send((batchId) => ({ batchId, n: 2 }));
    await tick();
    expect(streams).toHaveLength(2);
    streams[1].answer(2n);
    await expect(b).resolves.toMatchObject({ batchId: 2n });
    client.close();
  });

  it('replaces an old stream only after it answered everything it was sent', async () => {
    let now = 0;
    const { client, streams } = setup({ maxAgeMs: 100, now: () => now });
    const a = client.send((batchId) => ({ batchId, n: 1 }));
    await tick();
    now = 500;
    const b = client.send((batchId) => ({ batchId, n: 2 }));
    await tick();
    expect(streams).toHaveLength(1); // b waits for a
    streams[0].answer(1n);
    await expect(a).resolves.toMatchObject({ batchId: 1n });
    await tick();
    expect(streams).toHaveLength(2);
    expect(streams[0].ended).toBe(true);
    // the old stream's end is not a failure of the new stream's batch
    streams[0].emit('end');
    streams[1].answer(2n);
    await expect(b).resolves.toMatchObject({ batchId: 2n });
    client.close();
  });

  it('closes a stream left idle', async () => {
    const { client, streams } = setup();
    const a = client.send((batchId) => ({ batchId, n: 1 }));
    await tick();
    streams[0].answer(1n);
    await a;
    await new Promise((r) => setTimeout(r, 20));
    expect(streams[0].ended).toBe(true);
  });
});
