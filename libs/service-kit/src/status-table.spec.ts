import { Metadata, status } from '@grpc/grpc-js';
import { DomainError, ERROR_KINDS, isDomainError } from './domain-errors';
import {
  ERROR_FIELD_METADATA_KEY,
  ERROR_KIND_METADATA_KEY,
  ERROR_VALUE_METADATA_KEY,
  errorKindOf,
  kindForStatus,
  STATUS_BY_KIND,
  toServiceError,
} from './status-table';

describe('STATUS_BY_KIND', () => {
  it('maps every kind to its canonical status', () => {
    expect(STATUS_BY_KIND).toEqual({
      'invalid-argument': status.INVALID_ARGUMENT,
      'not-found': status.NOT_FOUND,
      'already-exists': status.ALREADY_EXISTS,
      'failed-precondition': status.FAILED_PRECONDITION,
      'resource-exhausted': status.RESOURCE_EXHAUSTED,
      'out-of-range': status.OUT_OF_RANGE,
      unavailable: status.UNAVAILABLE,
    });
    for (const kind of ERROR_KINDS) expect(kindForStatus(STATUS_BY_KIND[kind])).toBe(kind);
    expect(kindForStatus(status.INTERNAL)).toBeUndefined();
  });
});

describe('toServiceError', () => {
  it('keeps a domain error’s message and carries kind, field and value in trailing metadata', () => {
    const err = toServiceError(
      new DomainError('not-found', 'no process with pid 42', { field: 'pid', value: 42 }),
    );
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toBe('no process with pid 42');
    expect(err.metadata.get(ERROR_KIND_METADATA_KEY)).toEqual(['not-found']);
    expect(err.metadata.get(ERROR_FIELD_METADATA_KEY)).toEqual(['pid']);
    expect(err.metadata.get(ERROR_VALUE_METADATA_KEY)).toEqual(['42']);
  });

  it('adds the field and value when the message does not name the field', () => {
    const err = toServiceError(
      new DomainError('invalid-argument', 'address not canonical', { field: 'va', value: 0x1234n }),
    );
    expect(err.details).toBe('address not canonical (va = 0x1234)');
  });

  it('recognises any Error with a known kind, whatever its class', () => {
    class OrderTooLarge extends Error {
      readonly kind = 'invalid-argument';
      readonly field = 'order';
      readonly value = 11;
      constructor() {
        super('order 11 exceeds MAX_PAGE_ORDER 10');
      }
    }
    expect(isDomainError(new OrderTooLarge())).toBe(true);
    const err = toServiceError(new OrderTooLarge());
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe('order 11 exceeds MAX_PAGE_ORDER 10');
  });

  it('does not trust an unknown kind or a plain object', () => {
    expect(isDomainError(Object.assign(new Error('x'), { kind: 'weird' }))).toBe(false);
    expect(isDomainError({ kind: 'not-found', message: 'x' })).toBe(false);
    expect(toServiceError(Object.assign(new Error('x'), { kind: 'weird' })).code).toBe(status.INTERNAL);
  });

  it('maps an unexpected exception to INTERNAL with its first line and no stack', () => {
    const cause = new RangeError('index 9 out of bounds\n    at secret (file.ts:1:1)');
    const err = toServiceError(cause);
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toBe('internal error: RangeError: index 9 out of bounds');
    expect(err.stack).not.toContain('at ');
    expect(toServiceError('a string').details).toBe('internal error: non-error thrown: "a string"');
    expect(toServiceError(new Error('x'.repeat(500))).details.length).toBeLessThan(250);
  });

  it('passes an error that already is a gRPC status through', () => {
    const already = Object.assign(new Error('down'), {
      code: status.UNAVAILABLE,
      details: 'down',
      metadata: new Metadata(),
    });
    expect(toServiceError(already)).toBe(already);
  });

  it('does not mistake a Node system error (string code) for a status', () => {
    const sys = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
    expect(toServiceError(sys).code).toBe(status.INTERNAL);
  });
});

describe('errorKindOf', () => {
  it('reads the kind from trailing metadata, else from the code', () => {
    expect(
      errorKindOf(toServiceError(new DomainError('resource-exhausted', 'no free block of order 3'))),
    ).toBe('resource-exhausted');
    expect(errorKindOf({ code: status.FAILED_PRECONDITION, details: '', metadata: new Metadata() })).toBe(
      'failed-precondition',
    );
    expect(errorKindOf({ code: status.INTERNAL, details: '', metadata: new Metadata() })).toBeUndefined();
    expect(errorKindOf(new Error('plain'))).toBeUndefined();
  });
});
