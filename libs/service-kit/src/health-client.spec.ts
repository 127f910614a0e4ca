import { createServer, type AddressInfo } from 'node:net';
import { checkHealth, waitForServing } from './health-client';
import { parseServiceConfig } from './service-config';
import { startService } from './start-service';
import { ECHO_PROTO, echoDefinition, echoImplementation } from './testing/echo-service';

/** A port nothing listens on: bind an ephemeral one, then free it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('health client', () => {
  it('reports UNREACHABLE when nothing listens, and waitForServing names the address on timeout', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    expect(await checkHealth(address, '', 300)).toBe('UNREACHABLE');
    await expect(waitForServing(address, 300)).rejects.toThrow(
      `${address} not SERVING after 300ms (last state UNREACHABLE)`,
    );
  });

  it('waits for a service that starts late', async () => {
    const port = await freePort();
    const waiting = waitForServing(`127.0.0.1:${port}`, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await using service = await startService({
      name: 'echo',
      protoFiles: [ECHO_PROTO],
      services: [{ definition: echoDefinition, implementation: echoImplementation }],
      config: { ...parseServiceConfig('echo', { argv: [], env: {} }), port, metricsPort: null },
    });
    await expect(waiting).resolves.toBeUndefined();
    service.setServing('NOT_SERVING');
    expect(await checkHealth(service.address)).toBe('NOT_SERVING');
  });
});
