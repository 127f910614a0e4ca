import { canonicalFromVa48, formatVa48, isCanonical, va48FromCanonical } from './address';

describe('va48 <-> canonical 64-bit addresses', () => {
  it('keeps user addresses as they are', () => {
    expect(va48FromCanonical(0x7e0000000000n)).toBe(0x7e0000000000);
    expect(canonicalFromVa48(0x7ffffffff000)).toBe(0x7ffffffff000n);
  });

  it('folds kernel addresses to their low 48 bits and back', () => {
    expect(va48FromCanonical(0xffff888000000000n)).toBe(0x888000000000);
    expect(canonicalFromVa48(0x888000000000)).toBe(0xffff888000000000n);
    expect(formatVa48(0xffffffff80000000 % 2 ** 48)).toBe('0xffffffff80000000');
  });

  it('refuses non-canonical addresses', () => {
    expect(isCanonical(0x0000800000000000n)).toBe(false);
    expect(isCanonical(0xffff7fffffffffffn)).toBe(false);
    expect(va48FromCanonical(0x8000000000000000n)).toBeNull();
    expect(isCanonical(1n << 64n)).toBe(false);
  });
});
