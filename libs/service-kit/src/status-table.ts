import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { isDomainError, isErrorKind, type ErrorKind } from './domain-errors';

/**
 * The one table from domain error kind to gRPC status (grpc/grpc doc/statuscodes.md).
 * FAILED_PRECONDITION means "do not retry until the state is fixed"; RESOURCE_EXHAUSTED means
 * the caller may reclaim and retry; UNAVAILABLE is safe to retry as is.
 */
export const STATUS_BY_KIND: Readonly<Record<ErrorKind, status>> = {
  'invalid-argument': status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  'already-exists': status.ALREADY_EXISTS,
  'failed-precondition': status.FAILED_PRECONDITION,
  'resource-exhausted': status.RESOURCE_EXHAUSTED,
  'out-of-range': status.OUT_OF_RANGE,
  unavailable: status.UNAVAILABLE,
};

/** Trailing metadata keys that carry a domain error's kind, field and value to the client. */
export const ERROR_KIND_METADATA_KEY = 'pagemesh-error-kind';
export const ERROR_FIELD_METADATA_KEY = 'pagemesh-error-field';
export const ERROR_VALUE_METADATA_KEY = 'pagemesh-error-value';

/** Longest `details` string sent for an unexpected exception, so a huge message cannot flood a client. */
const MAX_INTERNAL_DETAILS_CHARS = 200;

/** What a handler hands grpc-js: a status code, details and trailing metadata. */
export type StatusError = Pick<ServiceError, 'code' | 'details' | 'metadata'> & Error;

export function statusForKind(kind: ErrorKind): status {
  return STATUS_BY_KIND[kind];
}

/** The inverse of the table, for clients that want the kind back; undefined for codes no kind maps to. */
export function kindForStatus(code: status): ErrorKind | undefined {
  for (const [kind, mapped] of Object.entries(STATUS_BY_KIND)) {
    if (mapped === code) return kind as ErrorKind;
  }
  return undefined;
}

/**
 * The domain error kind a failed client call carries: from the trailing metadata the kit's server
 * side attaches, else from the status code.
 */
export function errorKindOf(err: unknown): ErrorKind | undefined {
  if (!isStatusError(err)) return undefined;
  const fromMetadata = err.metadata?.get(ERROR_KIND_METADATA_KEY)[0];
  if (isErrorKind(fromMetadata)) return fromMetadata;
  return kindForStatus(err.code);
}

/** Formats a bad value for a status message: bigints in hex (addresses), strings quoted. */
export function formatValue(value: unknown): string {
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Maps anything a handler threw to the status the client sees:
 * - a domain error (any Error with a known `kind`) to its status from {@link STATUS_BY_KIND},
 *   its message kept, and kind/field/value in trailing metadata;
 * - an error that already is a gRPC status (numeric `code`) unchanged;
 * - anything else to INTERNAL with the error's first message line only, never a stack.
 */
export function toServiceError(err: unknown): StatusError {
  if (isDomainError(err)) {
    const metadata = new Metadata();
    metadata.set(ERROR_KIND_METADATA_KEY, err.kind);
    let details = err.message;
    if (err.field !== undefined) {
      metadata.set(ERROR_FIELD_METADATA_KEY, err.field);
      if (!details.includes(err.field)) {
        details = `${details} (${err.field} = ${formatValue(err.value)})`;
      }
      if (err.value !== undefined) metadata.set(ERROR_VALUE_METADATA_KEY, formatValue(err.value));
    }
    return makeStatusError(statusForKind(err.kind), details, metadata);
  }
  if (isStatusError(err)) return err;
  return makeStatusError(status.INTERNAL, internalDetails(err), new Metadata());
}

/** An error that already carries a gRPC status code (from grpc-js, or built by a handler). */
export function isStatusError(err: unknown): err is StatusError {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= 16;
}

function internalDetails(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : `non-error thrown: ${formatValue(err)}`;
  const firstLine = text.split('\n', 1)[0] ?? '';
  const clipped =
    firstLine.length > MAX_INTERNAL_DETAILS_CHARS
      ? `${firstLine.slice(0, MAX_INTERNAL_DETAILS_CHARS)}...`
      : firstLine;
  return `internal error: ${clipped}`;
}

function makeStatusError(code: status, details: string, metadata: Metadata): StatusError {
  const error = new Error(details) as StatusError;
  error.code = code;
  error.details = details;
  error.metadata = metadata;
  // The stack points into the kit, not at the fault; drop it so it cannot leak anywhere.
  error.stack = `Error: ${details}`;
  return error;
}
