/**
 * Typed errors of the device-drivers layer: requests the service cannot take (an unknown module,
 * file or device node, a malformed argument, an operation the current state forbids). Each
 * carries the request field and the bad value, and a `kind` the service kit maps to a gRPC status.
 * They are thrown before anything changes. Refusals Linux itself would return (ENXIO, EEXIST,
 * EIO ...) are `{ errno }` values, never these.
 */
import { RequestError } from '@pagemesh/uapi';

export { InvariantViolationError } from '@pagemesh/uapi';

export type DeviceDriversErrorKind =
  'invalid-argument' | 'not-found' | 'failed-precondition' | 'already-exists';

/** Any request the layer refused (see RequestError in uapi). */
export abstract class DeviceDriversError extends RequestError {
  abstract override readonly kind: DeviceDriversErrorKind;
}

/** Thrown when an argument is malformed whatever the state: a relative path, a negative count, a non-integer minor. */
export class InvalidArgumentError extends DeviceDriversError {
  readonly kind = 'invalid-argument' as const;
}

/** Thrown when a request names a module that is not in the catalog, or a file id that is not open. */
export class NotFoundError extends DeviceDriversError {
  readonly kind = 'not-found' as const;
}

/** Thrown when the state forbids the request (a driver asked for memory it does not have, a module not loaded). */
export class FailedPreconditionError extends DeviceDriversError {
  readonly kind = 'failed-precondition' as const;
}

/** Thrown when a catalog entry is added twice under one name. */
export class AlreadyExistsError extends DeviceDriversError {
  readonly kind = 'already-exists' as const;
}
