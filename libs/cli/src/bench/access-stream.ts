import { credentials } from '@grpc/grpc-js';
import { AccessOp, MmuServiceClient, type Access, type StreamAccessesResponse } from '@pagemesh/proto';

/** Accesses per batch and batches in flight: the same for every stream benchmark and its baseline. */
export const BATCH = 256;
export const IN_FLIGHT = 8;
/** Each run streams for about this long. */
export const RUN_MS = 1_000;

/** Batch `seq` of 8-byte user reads on CPU 0, at a 64-byte stride over `bytes` from `base`. */
export function readBatch(base: bigint, bytes: number, seq: number): Access[] {
  return Array.from({ length: BATCH }, (_, i) => ({
    cpu: 0,
    address: base + BigInt((((seq * BATCH + i) * 64) % bytes) & ~7),
    op: AccessOp.ACCESS_OP_READ,
    user: true,
    length: 8,
    data: Buffer.alloc(0),
  }));
}

/**
 * Streams read batches to MmuService.StreamAccesses at `address`, IN_FLIGHT at a time, for
 * about RUN_MS; returns accesses answered per second. Any fault is an error: the benchmark maps
 * what it reads.
 */
export async function streamReads(address: string, base: bigint, bytes: number): Promise<number> {
  const client = new MmuServiceClient(address, credentials.createInsecure());
  const stream = client.streamAccesses();
  let sent = 0;
  let answered = 0;
  let inFlight = 0;
  const deadline = performance.now() + RUN_MS;
  const t0 = performance.now();
  try {
    await new Promise<void>((resolve, reject) => {
      const send = () => {
        inFlight++;
        stream.write({ batchId: BigInt(sent), accesses: readBatch(base, bytes, sent++) });
      };
      stream.on('data', (res: StreamAccessesResponse) => {
        inFlight--;
        if (res.failure) return reject(new Error(`access batch refused: ${res.failure}`));
        if (res.results.some((r) => r.result?.$case !== 'data'))
          return reject(new Error('a benchmark read faulted'));
        answered += res.results.length;
        if (performance.now() < deadline) send();
        else if (inFlight === 0) stream.end();
      });
      stream.on('end', resolve);
      stream.on('error', reject);
      for (let i = 0; i < IN_FLIGHT; i++) send();
    });
  } finally {
    client.close();
  }
  return Math.round(answered / ((performance.now() - t0) / 1000));
}
