import { PROT_X86, PROT_X86_64 } from '@pagemesh/mmu';
import { pgprotFromWire } from '@pagemesh/mmu-rpc';
import { Errno } from '@pagemesh/proto';
import { errnoToWire, pgprotToWire } from './server';

describe('wire conversions of the device-drivers service', () => {
  it('pgprot words go to the wire and back unchanged, NX at bit 63', () => {
    expect(pgprotToWire(PROT_X86_64.PAGE_SHARED)).toBe(0x8000000000000027n);
    expect(pgprotToWire(PROT_X86.PAGE_SHARED)).toBe(0x27n);
    for (const p of [PROT_X86_64.PAGE_READONLY, PROT_X86_64.PAGE_SHARED, PROT_X86.PAGE_READONLY])
      expect(pgprotFromWire(pgprotToWire(p))).toEqual({ lo: p.lo >>> 0, hi: p.hi >>> 0 });
  });

  it('errno names become the proto enum, whose numbers are Linux x86 errnos', () => {
    expect(errnoToWire(null)).toBe(Errno.ERRNO_UNSPECIFIED);
    expect(errnoToWire('EAGAIN')).toBe(Errno.ERRNO_EAGAIN);
    expect(errnoToWire('EIO')).toBe(5);
    expect(errnoToWire('ENXIO')).toBe(Errno.ERRNO_ENXIO);
  });
});
