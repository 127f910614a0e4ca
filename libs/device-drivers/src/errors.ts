/**
 * Typed errors of the device-drivers layer: requests the service cannot take (an unknown module,
 * file or device node, a malformed argument, an operation the current state forbids). Each
 * carries the request field and the bad value, and a `kind` the service kit maps to a gRPC status.
 * They are thrown before anything changes. Refusals Linux itself would return (ENXIO, EEXIST,
 * EIO ...) are `{ errno }` values, never these.
 */
export type DeviceDriversErrorKind =
  'invalid-argument' | 'not-found' | 'failed-precondition' | 'already-exists';

export abstract class DeviceDriversError extends Error {
  abstract readonly kind: DeviceDriversErrorKind;

  constructor(
    readonly field: string,
    readonly value: unknown,
    detail: string,
  ) {
    super(`${field}=${formatValue(value)}: ${detail}`);
    this.name = new.target.name;
  }
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

function formatValue(value: unknown): string {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0x10000)
    return `0x${value.toString(16)}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** Thrown by checkInvariants() when the layer's own state is inconsistent (a bug, never a caller's fault). */
export class InvariantViolationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantViolationError';
  }
}
