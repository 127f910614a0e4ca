/**
 * The container health check: exits 0 when the service at PAGEMESH_HEALTH_ADDRESS (or the first
 * argument) answers grpc.health.v1 SERVING, 1 otherwise. Exec-form, so the image needs no shell.
 */
import { checkHealth } from '@pagemesh/service-kit';

const address = process.argv[2] ?? process.env['PAGEMESH_HEALTH_ADDRESS'];
if (!address) {
  process.stderr.write('healthcheck: no address (argument or PAGEMESH_HEALTH_ADDRESS)\n');
  process.exit(1);
}
checkHealth(address, '', 1_500).then(
  (state) => {
    if (state !== 'SERVING') process.stderr.write(`healthcheck: ${address} is ${state}\n`);
    process.exit(state === 'SERVING' ? 0 : 1);
  },
  () => process.exit(1),
);
