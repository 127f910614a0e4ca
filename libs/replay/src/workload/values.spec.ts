import fc from 'fast-check';
import { parseAddr, parseAdvice, parseHex, parseMmapFlags, parseProt, parseSize, parseU64 } from './values';

const value = <T>(p: { ok: true; value: T } | { ok: false; message: string }): T => {
  if (!p.ok) throw new Error(p.message);
  return p.value;
};

describe('workload values', () => {
  it('reads sizes in every form', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 30 }), (n) => {
        expect(value(parseSize(n))).toBe(n);
        expect(value(parseSize(String(n)))).toBe(n);
        expect(value(parseSize(`0x${n.toString(16)}`))).toBe(n);
        expect(value(parseSize(`${n}K`))).toBe(n * 1024);
        expect(value(parseSize(`${n}p`))).toBe(n * 4096);
      }),
      { numRuns: 200 },
    );
    expect(value(parseSize('10M'))).toBe(10 << 20);
    expect(parseSize('-1')).toEqual({
      ok: false,
      message: '"-1" is not a size (4096, "0x1000", "4K", "10M", "16p")',
    });
    expect(parseSize('0x100000000000000T').ok).toBe(false);
  });

  it('holds canonical addresses as va48 and refuses the others', () => {
    expect(value(parseAddr('0x7e0000000000'))).toBe(0x7e0000000000);
    expect(value(parseAddr('0xffff888000000000'))).toBe(0x888000000000);
    expect(parseAddr('0x0000900000000000')).toEqual({
      ok: false,
      message: '0x0000900000000000 is not a canonical x86-64 address',
    });
    expect(value(parseAddr('$buf+0x1000'))).toEqual({ var: 'buf', offset: 4096 });
    expect(value(parseAddr('$buf + 2p'))).toEqual({ var: 'buf', offset: 8192 });
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 47n) - 1n }), (a) => {
        expect(value(parseAddr(`0x${a.toString(16)}`))).toBe(Number(a));
      }),
    );
  });

  it('reads prot, flags, advice and hex', () => {
    expect(['rw-', 'r--', '---', 'none', 'rwx', 'r-x', 7, '0x10'].map((p) => value(parseProt(p)))).toEqual([
      3, 1, 0, 0, 7, 5, 7, 16,
    ]);
    expect(value(parseMmapFlags('private|anonymous|fixed_noreplace'))).toBe(0x100022);
    expect(value(parseMmapFlags('shared|0x40'))).toBe(0x41);
    expect(value(parseAdvice('DONTNEED'))).toBe(4);
    expect(value(parseAdvice('guard_install'))).toBe(102);
    expect(value(parseHex('0xaa 0xbb cc DD'))).toBe('aabbccdd');
    expect(parseHex('abc').ok).toBe(false);
  });
});

describe('parseU64', () => {
  it('keeps syscall lengths exact up to 2^64 - 1, as bigints above 2^53', () => {
    expect(parseU64('4K')).toEqual({ ok: true, value: 4096 });
    expect(parseU64('0xfffffffffffff000')).toEqual({ ok: true, value: 0xfffffffffffff000n });
    expect(parseU64('0x10000000000000000')).toEqual({
      ok: false,
      message: '"0x10000000000000000" does not fit in 64 bits',
    });
  });
});
