import { EventEmitter } from 'node:events';
import type { StreamSyscallsRequest, VmaManagerServiceClient } from '@pagemesh/proto';
import { SyscallBatchRefusedError, SyscallStream } from './conform-syscall-stream';

/**
 * A client whose streams answer each batch on the next tick (refusing those with no calls) and
 * signal their end on the tick after `end()`, as a service does.
 */
function fakeClient() {
  const opened: EventEmitter[] = [];
  const client = {
    streamSyscalls: () => {
      const s = Object.assign(new EventEmitter(), {
        write: (req: StreamSyscallsRequest) =>
          setImmediate(() =>
            s.emit('data', {
              batchId: req.batchId,
              results: req.calls.map(() => ({ ret: 0n, errno: 0 })),
              failure: req.calls.length ? '' : 'calls is empty',
            }),
          ),
        end: () => setImmediate(() => s.emit('end')),
      });
      opened.push(s);
      return s;
    },
  };
  return { client: client as unknown as VmaManagerServiceClient, opened };
}

const munmap = { pid: 1, call: { $case: 'munmap' as const, value: { addr: 0x1000n, length: 0x1000n } } };

describe('the conformance StreamSyscalls client', () => {
  afterEach(() => jest.restoreAllMocks());

  it('answers batches in order on one stream', async () => {
    const { client, opened } = fakeClient();
    const s = new SyscallStream(client);
    expect((await s.send([munmap])).batchId).toBe(1n);
    expect((await s.send([munmap, munmap])).results).toHaveLength(2);
    expect(opened).toHaveLength(1);
    s.close();
  });

  it('replaces an old stream, and the old one ending does not fail the batch sent on its successor', async () => {
    const { client, opened } = fakeClient();
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000);
    const s = new SyscallStream(client);
    await s.send([munmap]);
    now.mockReturnValue(1_000 + 25_000);
    const res = await s.send([munmap]);
    expect(res.batchId).toBe(2n);
    expect(opened).toHaveLength(2);
    // the old stream's end has been delivered by now; the next batch still goes through
    await new Promise((r) => setImmediate(r));
    expect((await s.send([munmap])).batchId).toBe(3n);
    s.close();
  });

  it('rejects a batch the service refuses, with its message, and goes on', async () => {
    const { client } = fakeClient();
    const s = new SyscallStream(client);
    await expect(s.send([])).rejects.toThrow(SyscallBatchRefusedError);
    await expect(s.send([])).rejects.toThrow(/calls is empty/);
    expect((await s.send([munmap])).results).toHaveLength(1);
    s.close();
  });
});
