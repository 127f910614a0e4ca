// Replays a built-in workload through the orchestrator service's Replay RPC and prints its verdict:
//
//   node docker/orchestrator-replay.mjs ADDRESS WORKLOAD
//
// The orchestrator replays on the services its --*-address flags name (the compose stack), so
// they must be booted for the workload's machine and fresh. Progress goes to stderr at each
// further 10 %; the exit code is 0 when the result says ok (every expectation held), 1 when it
// does not, 2 when the call itself failed. Plain JavaScript over the .proto files (proto-loader), so that it runs from a
// checkout with no TypeScript build, as the smoke test does.
import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Longest a replay may take before the call is abandoned: the built-ins take seconds. */
const DEADLINE_MS = 120_000;

const [address, workload] = process.argv.slice(2);
if (!address || !workload) {
  console.error(
    'usage: node docker/orchestrator-replay.mjs ADDRESS WORKLOAD (e.g. 127.0.0.1:50055 fork-cow)',
  );
  process.exit(2);
}

const protos = join(dirname(fileURLToPath(import.meta.url)), '../protos');
const definition = loadSync('pagemesh/v1/orchestrator_service.proto', {
  includeDirs: [protos],
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});
const { OrchestratorService } = loadPackageDefinition(definition).pagemesh.v1;
const client = new OrchestratorService(address, credentials.createInsecure());

const call = client.replay({ builtin: workload }, { deadline: Date.now() + DEADLINE_MS });
let result = null;
let shownTenths = -1;
call.on('data', (event) => {
  if (event.event === 'progress') {
    const { opsDone, opsTotal, opsPerSecond } = event.progress;
    const tenths = opsTotal > 0 ? Math.floor((10 * opsDone) / opsTotal) : 0;
    if (tenths > shownTenths) {
      shownTenths = tenths;
      console.error(`  ${workload}: ${opsDone}/${opsTotal} ops, ${Math.round(opsPerSecond)} ops/s`);
    }
  } else if (event.event === 'result') {
    result = event.result;
  }
});
call.on('error', (e) => {
  console.error(`orchestrator at ${address}: Replay ${workload}: ${e.message}`);
  client.close();
  process.exit(2);
});
call.on('end', () => {
  client.close();
  if (!result) {
    console.error(`orchestrator at ${address}: Replay ${workload} ended with no result`);
    process.exit(2);
  }
  const verdict = result.ok ? 'every expectation held' : `${result.failures.length} expectation(s) failed`;
  console.log(`${workload} (Replay RPC, ${result.transport}): ${verdict}`);
  for (const f of result.failures) console.log(`  - ${f}`);
  process.exit(result.ok && result.exitCode === 0 ? 0 : 1);
});
