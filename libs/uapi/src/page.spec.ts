import { PAGE_SIZE, pageAlign, isPageAligned, offsetInPage } from './page';

describe('page geometry', () => {
  it('PAGE_ALIGN rounds up', () => {
    expect(PAGE_SIZE).toBe(4096);
    expect(pageAlign(0)).toBe(0);
    expect(pageAlign(1)).toBe(4096);
    expect(pageAlign(4096)).toBe(4096);
    expect(pageAlign(73728 + 1)).toBe(77824);
    expect(pageAlign(0x7fff_ffff_f001)).toBe(0x7fff_ffff_f000 + 4096);
  });

  it('offset_in_page and alignment', () => {
    expect(offsetInPage(0x1234)).toBe(0x234);
    expect(isPageAligned(0x7000)).toBe(true);
    expect(isPageAligned(0x7001)).toBe(false);
  });
});
