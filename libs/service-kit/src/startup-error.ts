import { ConfigError } from './service-config';

/**
 * Thrown when a service cannot start: it cannot listen (the port is taken, the address is not
 * local, permission is denied), or its proto files do not load. `reason` is short and human
 * ("address already in use"); `address` is set for listen failures.
 */
export class StartupError extends Error {
  constructor(
    readonly reason: string,
    readonly address?: string,
    options?: { cause?: unknown },
  ) {
    super(address === undefined ? reason : `cannot listen on ${address}: ${reason}`, options);
    this.name = 'StartupError';
  }
}

/** Socket errors a bind can meet, in the words `strerror` uses. */
const BIND_REASONS: ReadonlyArray<[code: string, reason: string]> = [
  ['EADDRINUSE', 'address already in use'],
  ['EADDRNOTAVAIL', 'cannot assign requested address'],
  ['EACCES', 'permission denied'],
  ['EPERM', 'operation not permitted'],
  ['ENOTFOUND', 'host not found'],
  ['EAI_AGAIN', 'host name lookup failed'],
];

/** Builds a {@link StartupError} from a failed bind (a Node socket error or grpc-js's summary of one). */
export function bindFailure(address: string, err: unknown): StartupError {
  const code = (err as { code?: unknown } | null)?.code;
  const text = err instanceof Error ? err.message : String(err);
  const known = BIND_REASONS.find(([c]) => c === code || text.includes(c));
  const reason = known ? known[1] : (text.split('\n', 1)[0] ?? text);
  return new StartupError(reason, address, { cause: err });
}

/**
 * The one line a service prints to stderr when it cannot start, e.g.
 * `page-allocator: cannot listen on 127.0.0.1:50051: address already in use`. Never a stack.
 */
export function formatStartupFailure(service: string, err: unknown): string {
  if (err instanceof StartupError || err instanceof ConfigError) return `${service}: ${err.message}`;
  const message = err instanceof Error ? err.message : String(err);
  return `${service}: cannot start: ${message.split('\n', 1)[0] ?? message}`;
}
