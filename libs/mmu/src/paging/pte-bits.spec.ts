import {
  PROT_X86,
  PROT_X86_64,
  VM_EXEC,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  _PAGE_SPECIAL,
  describeEntry,
  formatEntry,
  pfnPte,
  pgprot,
  vmGetPageProt,
} from './pte-bits';

const hex = (e: { lo: number; hi: number }) => formatEntry(e.lo, e.hi);

describe('PTE values (kernel-semantics §7.2, pfn 0x12345)', () => {
  const p = PROT_X86_64;
  it.each([
    ['PAGE_NONE', p.PAGE_NONE, '0x0000000012345120'],
    ['PAGE_READONLY', p.PAGE_READONLY, '0x8000000012345025'],
    ['PAGE_SHARED', p.PAGE_SHARED, '0x8000000012345027'],
    ['PAGE_READONLY_EXEC', p.PAGE_READONLY_EXEC, '0x0000000012345025'],
    ['PAGE_SHARED_EXEC', p.PAGE_SHARED_EXEC, '0x0000000012345027'],
    ['PAGE_KERNEL', p.PAGE_KERNEL, '0x8000000012345163'],
    ['PAGE_KERNEL_LARGE', p.PAGE_KERNEL_LARGE, '0x80000000123451e3'],
  ])('%s', (_name, prot, value) => {
    expect(hex(pfnPte(0x12345, prot))).toBe(value);
  });

  it('builds the remap_pfn_range and written-anon examples', () => {
    const special = pgprot(p.PAGE_SHARED.lo | _PAGE_SPECIAL, true);
    expect(hex(pfnPte(0x12345, special))).toBe('0x8000000012345227');
    const written = pgprot(p.PAGE_COPY.lo | 0x2 | 0x40, true);
    expect(hex(pfnPte(0x12345, written))).toBe('0x8000000012345067');
  });

  it('puts PFN bits above 2^20 in the high word', () => {
    const e = pfnPte(0x123456, p.PAGE_KERNEL);
    expect(hex(e)).toBe('0x8000000123456163');
    expect(e.hi).toBe(0x80000001);
    expect(e.lo).toBe(0x23456163);
  });

  it('has no NX on non-PAE x86', () => {
    expect(PROT_X86.PAGE_READONLY).toEqual(PROT_X86.PAGE_READONLY_EXEC);
    expect(formatEntry(pfnPte(0x12345, PROT_X86.PAGE_SHARED).lo, 0, false)).toBe('0x12345027');
  });

  it('decodes flag names', () => {
    const e = pfnPte(1, pgprot(p.PAGE_KERNEL_LARGE.lo, true));
    expect(describeEntry(e.lo, e.hi, false)).toEqual(['P', 'RW', 'A', 'D', 'PS', 'G', 'NX']);
    expect(describeEntry(p.PAGE_NONE.lo, 0, true)).toEqual(['A', 'PROTNONE']);
  });
});

describe('vm_get_page_prot (arch/x86/mm/pgprot.c)', () => {
  const p = PROT_X86_64;
  it.each([
    [0, p.PAGE_NONE],
    [VM_READ, p.PAGE_READONLY],
    [VM_READ | VM_WRITE, p.PAGE_COPY],
    [VM_READ | VM_WRITE | VM_SHARED, p.PAGE_SHARED],
    [VM_READ | VM_EXEC, p.PAGE_READONLY_EXEC],
    [VM_READ | VM_WRITE | VM_EXEC, p.PAGE_COPY_EXEC],
    [VM_WRITE | VM_EXEC | VM_SHARED, p.PAGE_SHARED_EXEC],
  ])('flags 0x%s', (flags, prot) => {
    expect(vmGetPageProt(flags, p)).toEqual(prot);
  });
});
