import { GFP, formatGfp, gfpZone } from './gfp';
import { getOrder } from './orders';
import { Zone } from './zone-type';

const X86_64 = new Set([Zone.DMA, Zone.DMA32, Zone.Normal, Zone.Movable]);
const X86_32 = new Set([Zone.DMA, Zone.Normal, Zone.HighMem, Zone.Movable]);

describe('GFP', () => {
  it('has Linux bit values (include/linux/gfp_types.h)', () => {
    expect(GFP.KERNEL).toBe(0xcc0);
    expect(GFP.ATOMIC).toBe(0x820);
    expect(GFP.USER).toBe(0x100cc0);
    expect(GFP.HIGHUSER).toBe(0x100cc2);
    expect(GFP.HIGHUSER_MOVABLE).toBe(0x100cca);
    expect(GFP.ZERO).toBe(0x100);
    expect(GFP.COMP).toBe(0x40000);
    expect(GFP.NOWARN).toBe(0x2000);
    expect(GFP.DMA).toBe(0x1);
    expect(GFP.DMA32).toBe(0x4);
  });

  it('maps to the highest usable zone as GFP_ZONE_TABLE does', () => {
    expect(gfpZone(GFP.KERNEL, X86_64)).toBe(Zone.Normal);
    expect(gfpZone(GFP.KERNEL | GFP.DMA, X86_64)).toBe(Zone.DMA);
    expect(gfpZone(GFP.KERNEL | GFP.DMA32, X86_64)).toBe(Zone.DMA32);
    expect(gfpZone(GFP.HIGHUSER, X86_64)).toBe(Zone.Normal);
    expect(gfpZone(GFP.HIGHUSER_MOVABLE, X86_64)).toBe(Zone.Movable);
    expect(gfpZone(GFP.MOVABLE, X86_64)).toBe(Zone.Normal);
    expect(gfpZone(GFP.HIGHUSER, X86_32)).toBe(Zone.HighMem);
    expect(gfpZone(GFP.KERNEL | GFP.DMA32, X86_32)).toBe(Zone.Normal);
    expect(() => gfpZone(GFP.DMA | GFP.HIGHMEM, X86_64)).toThrow(/GFP_ZONE_BAD/);
  });

  it('prints masks by name', () => {
    expect(formatGfp(GFP.KERNEL | GFP.ZERO)).toBe('GFP_KERNEL|__GFP_ZERO');
    expect(formatGfp(GFP.HIGHUSER_MOVABLE)).toBe('GFP_HIGHUSER_MOVABLE');
  });
});

describe('getOrder', () => {
  it.each([
    [1, 0],
    [4096, 0],
    [4097, 1],
    [8192, 1],
    [8193, 2],
    [32768, 3],
    [73728, 5],
    [4 * 2 ** 20, 10],
  ])('get_order(%i) = %i', (size, order) => expect(getOrder(size)).toBe(order));
});
