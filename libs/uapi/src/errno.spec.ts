import { ERRNO, errnoName, isErrno } from './errno';

describe('errno', () => {
  it('has the x86 Linux numbers', () => {
    expect(ERRNO.EINVAL).toBe(22);
    expect(ERRNO.ENOMEM).toBe(12);
    expect(ERRNO.EEXIST).toBe(17);
    expect(ERRNO.EIO).toBe(5);
  });

  it('maps numbers back to names, whatever the sign', () => {
    expect(errnoName(-12)).toBe('ENOMEM');
    expect(errnoName(22)).toBe('EINVAL');
    expect(errnoName(4095)).toBeUndefined();
  });

  it('recognises only real names', () => {
    expect(isErrno('EAGAIN')).toBe(true);
    expect(isErrno('toString')).toBe(false);
  });
});
