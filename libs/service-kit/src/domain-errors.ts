/**
 * The kinds of request a service cannot take, independent of gRPC.
 *
 * Domain libraries may not import the kit (they import no gRPC at all), so the kit recognises
 * a domain error by shape: any `Error` whose `kind` property is one of {@link ERROR_KINDS}.
 * {@link DomainError} is a convenient base class with that shape; a domain library can declare
 * an identical class of its own and still be mapped by {@link toServiceError}.
 */
export const ERROR_KINDS = [
  'invalid-argument',
  'not-found',
  'already-exists',
  'failed-precondition',
  'resource-exhausted',
  'out-of-range',
  'unavailable',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

/** The structural contract a domain error meets; the kit never needs more than this. */
export interface DomainErrorLike extends Error {
  readonly kind: ErrorKind;
  /** The request field that was wrong, e.g. `order` or `pid`. */
  readonly field?: string;
  /** The bad value as received. */
  readonly value?: unknown;
}

export interface DomainErrorDetails {
  readonly field?: string;
  readonly value?: unknown;
}

/**
 * Thrown when a request cannot be taken: malformed, naming an unknown object, or arriving in the
 * wrong state. The message should name the field and the bad value.
 */
export class DomainError extends Error implements DomainErrorLike {
  readonly field?: string;
  readonly value?: unknown;

  constructor(
    readonly kind: ErrorKind,
    message: string,
    details: DomainErrorDetails = {},
  ) {
    super(message);
    this.name = 'DomainError';
    this.field = details.field;
    this.value = details.value;
  }
}

const KNOWN_KINDS: ReadonlySet<string> = new Set(ERROR_KINDS);

export function isErrorKind(kind: unknown): kind is ErrorKind {
  return typeof kind === 'string' && KNOWN_KINDS.has(kind);
}

/** True for any Error carrying a known `kind`, whichever library defined its class. */
export function isDomainError(err: unknown): err is DomainErrorLike {
  return err instanceof Error && isErrorKind((err as { kind?: unknown }).kind);
}
