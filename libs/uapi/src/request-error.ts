/**
 * The shape every layer gives a request it cannot take. A syscall's refusal is an errno value,
 * never this; this is for a caller's mistake (a malformed argument, an unknown object, a state
 * that forbids the operation). Each error names the request field and the bad value, and carries
 * a `kind` that the service kit maps to a gRPC status in one table, so no layer parses messages.
 * Layers subclass it once per kind (`class NotFoundError extends RequestError`), and validate
 * before they mutate: when one is thrown, nothing changed.
 */
export type RequestErrorKind =
  | 'invalid-argument'
  | 'not-found'
  | 'already-exists'
  | 'failed-precondition'
  | 'resource-exhausted'
  | 'out-of-range';

export abstract class RequestError extends Error {
  abstract readonly kind: RequestErrorKind;

  constructor(
    readonly field: string,
    readonly value: unknown,
    detail: string,
  ) {
    super(`${field}=${formatRequestValue(value)}: ${detail}`);
    this.name = new.target.name;
  }
}

/** Thrown by a layer's checkInvariants() when its own state is inconsistent: a bug, never a caller's fault. */
export class InvariantViolationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantViolationError';
  }
}

/**
 * A bad value as an error message shows it: addresses and PFNs in hex (from 0x10000 up, where
 * hex reads better), strings quoted, objects as JSON when they can be.
 */
export function formatRequestValue(value: unknown): string {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0x10000)
    return `0x${value.toString(16)}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    } catch {
      return Object.prototype.toString.call(value); // cycles
    }
  }
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value); // objects without a prototype
  }
}
