import { PageFlag as ProtoPageFlag } from '@pagemesh/proto';
import { PageFlag } from '@pagemesh/page-allocator';
import { domainPageFlag, protoPageFlags } from './enums';
import { checkBatch, toBigints, toNumber, toNumbers } from './wire';

describe('wire conversions', () => {
  it('turns 64-bit fields into numbers, and refuses what a number cannot hold', () => {
    expect(toNumber('pfn', 0x100000n)).toBe(0x100000);
    expect(toNumbers('pfns', [1n, 2n])).toEqual([1, 2]);
    expect(toBigints([3, 4])).toEqual([3n, 4n]);
    expect(() => toNumber('pfn', 1n << 60n)).toThrow(/pfn=0x1000000000000000/);
    expect(() => toNumbers('pfns', [1n, 1n << 60n])).toThrow(
      expect.objectContaining({ kind: 'invalid-argument', field: 'pfns[1]' }),
    );
  });

  it('bounds batches', () => {
    expect(() => checkBatch('pfns', 10, 10)).not.toThrow();
    expect(() => checkBatch('pfns', 11, 10)).toThrow(/pfns has 11 entries: at most 10/);
  });

  it('maps PG_* flags both ways, and refuses flags the model does not keep', () => {
    expect(domainPageFlag('set[0]', ProtoPageFlag.PAGE_FLAG_RESERVED)).toBe(PageFlag.Reserved);
    expect(() => domainPageFlag('set[0]', ProtoPageFlag.PAGE_FLAG_TAIL)).toThrow(/set\[0\]=PAGE_FLAG_TAIL/);
    expect(protoPageFlags(['reserved', 'head'], true)).toEqual([
      ProtoPageFlag.PAGE_FLAG_RESERVED,
      ProtoPageFlag.PAGE_FLAG_HEAD,
      ProtoPageFlag.PAGE_FLAG_TAIL,
    ]);
  });
});
