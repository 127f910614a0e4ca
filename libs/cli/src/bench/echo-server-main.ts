/**
 * A bare grpc-js server that answers MmuService.StreamAccesses by echoing each batch with
 * results of the same shape and size the real mmu sends (each read's bytes, zeroed), and does
 * nothing else: no kit, no interceptors, no domain. `pagemesh bench` runs it as a process of its
 * own to measure what grpc-js itself can carry here, the baseline of the mmu stream benchmark.
 */
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { MmuServiceService, type StreamAccessesRequest, type StreamAccessesResponse } from '@pagemesh/proto';

const server = new Server();
server.addService(MmuServiceService, {
  streamAccesses(call: ServerDuplexStream<StreamAccessesRequest, StreamAccessesResponse>) {
    call.on('data', (req: StreamAccessesRequest) => {
      call.write({
        batchId: req.batchId,
        results: req.accesses.map((a) => ({ result: { $case: 'data', value: Buffer.alloc(a.length) } })),
        failure: '',
      });
    });
    call.on('end', () => call.end());
  },
});
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`echo-server: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`echo-server listening on 127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => server.forceShutdown());
