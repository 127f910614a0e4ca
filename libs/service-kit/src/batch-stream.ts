import type { ServerDuplexStream } from '@grpc/grpc-js';
import { isDomainError } from './domain-errors';

/**
 * Serves a bidi stream of batches: each request is handed to `handle` as soon as it arrives
 * (so batches can overlap inside the service), and the answers are written in arrival order.
 * A batch refused with a domain error is answered by `refused(request, error)`: the stream goes
 * on with the next batch. Any other error fails the call (the guard maps it to INTERNAL).
 * Resolves when the client has half-closed and every answer is written.
 */
export function serveBatchStream<Req, Res>(
  call: ServerDuplexStream<Req, Res>,
  handle: (request: Req) => Res | Promise<Res>,
  refused: (request: Req, error: Error) => Res,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let written: Promise<void> = Promise.resolve();
    call.on('data', (request: Req) => {
      let answer: Promise<Res>;
      try {
        answer = Promise.resolve(handle(request));
      } catch (err) {
        answer = Promise.reject(err);
      }
      const settled = answer.catch((err: unknown) => {
        if (isDomainError(err)) return refused(request, err);
        throw err;
      });
      written = written.then(async () => {
        call.write(await settled);
      });
      written.catch(reject);
    });
    call.on('end', () => {
      written.then(() => {
        call.end();
        resolve();
      }, reject);
    });
    call.on('error', reject);
  });
}
