import { credentials, makeClientConstructor, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

/** What a health probe saw: the service's own answer, or UNREACHABLE when nothing answered. */
export type HealthState = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'UNREACHABLE';

/** How long one probe may take when the caller does not say. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 1_000;
/** Pause between probes while waiting for a service to come up. */
const POLL_INTERVAL_MS = 100;

type HealthClient = Client & {
  check(
    request: { service: string },
    options: { deadline: number },
    callback: (error: ServiceError | null, response?: { status?: string }) => void,
  ): void;
};

const HealthClientConstructor = makeClientConstructor(
  healthService as unknown as Parameters<typeof makeClientConstructor>[0],
  'grpc.health.v1.Health',
) as unknown as new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => HealthClient;

/**
 * Asks grpc.health.v1 Check at `address` about `service` ('' is the whole server). A service the
 * server does not know is UNKNOWN; no answer within `timeoutMs` (refused, closed, too slow) is
 * UNREACHABLE.
 */
export async function checkHealth(
  address: string,
  service = '',
  timeoutMs: number = DEFAULT_HEALTH_TIMEOUT_MS,
): Promise<HealthState> {
  const client = new HealthClientConstructor(address, credentials.createInsecure());
  try {
    return await checkWith(client, service, timeoutMs);
  } finally {
    client.close();
  }
}

/**
 * Probes `address` until `service` is SERVING; throws when `timeoutMs` passes first, naming the
 * address and the last state seen.
 */
export async function waitForServing(address: string, timeoutMs: number, service = ''): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  const client = new HealthClientConstructor(address, credentials.createInsecure());
  let last: HealthState = 'UNREACHABLE';
  try {
    for (;;) {
      const left = giveUpAt - Date.now();
      if (left <= 0) break;
      last = await checkWith(client, service, Math.min(left, DEFAULT_HEALTH_TIMEOUT_MS));
      if (last === 'SERVING') return;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(POLL_INTERVAL_MS, Math.max(0, giveUpAt - Date.now()))),
      );
    }
  } finally {
    client.close();
  }
  const what = service === '' ? address : `${service} at ${address}`;
  throw new Error(`${what} not SERVING after ${timeoutMs}ms (last state ${last})`);
}

function checkWith(client: HealthClient, service: string, timeoutMs: number): Promise<HealthState> {
  return new Promise((resolve) => {
    client.check({ service }, { deadline: Date.now() + timeoutMs }, (error, response) => {
      if (error) {
        resolve(
          error.code === status.NOT_FOUND || error.code === status.UNIMPLEMENTED ? 'UNKNOWN' : 'UNREACHABLE',
        );
        return;
      }
      const state = response?.status;
      resolve(state === 'SERVING' || state === 'NOT_SERVING' ? state : 'UNKNOWN');
    });
  });
}
