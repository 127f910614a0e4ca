import { formatRequestValue, InvariantViolationError, RequestError } from './request-error';

class NotFoundError extends RequestError {
  readonly kind = 'not-found' as const;
}

describe('RequestError', () => {
  it('names the field and the value, and keeps both for the status mapping', () => {
    const e = new NotFoundError('pid', 42, 'no such process');
    expect(e.message).toBe('pid=42: no such process');
    expect(e).toMatchObject({ kind: 'not-found', field: 'pid', value: 42, name: 'NotFoundError' });
    expect(e).toBeInstanceOf(RequestError);
  });

  it('shows addresses in hex, strings quoted, objects as JSON', () => {
    expect(formatRequestValue(0x7e0000000000)).toBe('0x7e0000000000');
    expect(formatRequestValue(4095)).toBe('4095');
    expect(formatRequestValue('/dev/x')).toBe('"/dev/x"');
    expect(formatRequestValue({ a: 1n })).toBe('{"a":"1"}');
    expect(formatRequestValue(Object.create(null))).toBe('{}');
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    expect(formatRequestValue(cyclic)).toBe('[object Object]');
    expect(formatRequestValue(-1n)).toBe('-1');
  });

  it('tells an invariant violation apart from a refused request', () => {
    expect(new InvariantViolationError('x')).not.toBeInstanceOf(RequestError);
  });
});
