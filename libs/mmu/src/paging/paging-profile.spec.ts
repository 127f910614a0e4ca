import { splitAddress, x86Profile, x86_64Profile } from './paging-profile';
import { NON_CANONICAL, accessAddress, formatVa } from './va48';

const x64 = x86_64Profile();
const x86 = x86Profile(896 * 2 ** 20);

describe('x86_64 4-level address split (kernel-semantics §7.1)', () => {
  it.each([
    [0x00007f1234567abcn, [254, 72, 418, 359], 0xabc],
    [0x0000555555554000n, [170, 341, 170, 340], 0x000],
    [0x00007fffffffefffn, [255, 511, 511, 510], 0xfff],
    [0x00007ffff7ffe000n, [255, 511, 447, 510], 0x000],
    [0xffff888000001000n, [273, 0, 0, 1], 0x000],
    [0xffffffff81000000n, [511, 510, 8, 0], 0x000],
  ])('%s splits into %j + %i', (addr, indices, offset) => {
    const va = accessAddress(addr);
    expect(splitAddress(x64, va)).toEqual({ indices, offset });
  });
});

describe('x86 2-level address split (kernel-semantics §7.4)', () => {
  it.each([
    [0xc0001234, [768, 1], 0x234],
    [0x08048000, [32, 72], 0x000],
    [0xbfffffff, [767, 1023], 0xfff],
  ])('0x%s splits into %j + %i', (va, indices, offset) => {
    expect(splitAddress(x86, va)).toEqual({ indices, offset });
  });

  it('puts the kernel half at PGD index 768 and vmalloc 8 MiB above high_memory', () => {
    expect(x86.kernelPgdStart).toBe(768);
    expect(x86.vmallocStart).toBe(0xf8800000);
    expect(x86.vmallocEnd).toBe(0xff7fe000);
  });
});

describe('va48', () => {
  it('holds kernel addresses as their low 48 bits', () => {
    expect(accessAddress(0xffff888000000000n)).toBe(0x888000000000);
    expect(formatVa(0x888000000000)).toBe('0xffff888000000000');
    expect(formatVa(0x7f0000000000)).toBe('0x7f0000000000');
    expect(formatVa(0xc0000000, 32)).toBe('0xc0000000');
  });

  it('turns non-canonical values into NON_CANONICAL', () => {
    expect(accessAddress(0x0000800000000000n)).toBe(NON_CANONICAL);
    expect(accessAddress(0xffff7fffffffffffn)).toBe(NON_CANONICAL);
    expect(accessAddress(0x8000000000000000n)).toBe(NON_CANONICAL);
  });

  it('uses the profile constants of the reference layout', () => {
    expect(formatVa(x64.pageOffset)).toBe('0xffff888000000000');
    expect(formatVa(x64.vmallocStart)).toBe('0xffffc90000000000');
    expect(formatVa(x64.vmallocEnd - 1)).toBe('0xffffe8ffffffffff');
    expect(x64.taskSize).toBe(0x7ffffffff000);
  });
});
