import { bootMachine } from './page-allocator';
import { GFP } from './gfp';
import { PageFlag, PageType } from './page-flags';
import { KPF, kpageflagNames } from './kpageflags';
import { InvalidArgumentError } from './errors';
import { must } from './testing';

const MiB = 2 ** 20;

describe('/proc/buddyinfo', () => {
  it('prints one line per populated zone, width-6 columns, trailing space', () => {
    const pa = bootMachine({ memBytes: 16 * MiB });
    expect(pa.procBuddyinfo()).toBe(
      'Node 0, zone      DMA      0      0      0      0      0      0      1      1      2      2      0 \n',
    );
    const big = bootMachine();
    const lines = big.procBuddyinfo().split('\n');
    expect(lines[0]).toBe(
      'Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 ',
    );
    expect(lines[1]).toMatch(/^Node 0, zone {4}DMA32( +\d+){11} $/);
    expect(lines).toHaveLength(3);
  });

  it('lists HighMem on x86', () => {
    const pa = bootMachine({ arch: 'x86', memBytes: 1024 * MiB });
    expect(
      pa
        .procBuddyinfo()
        .split('\n')
        .map((l) => l.slice(0, 21)),
    ).toEqual(['Node 0, zone      DMA', 'Node 0, zone   Normal', 'Node 0, zone  HighMem', '']);
  });
});

describe('/proc/meminfo', () => {
  it('formats every line as show_val_kb does', () => {
    const pa = bootMachine({ memBytes: 16 * MiB });
    const text = pa.procMeminfo();
    expect(text.startsWith('MemTotal:           6912 kB\nMemFree:            6912 kB\n')).toBe(true);
    for (const line of text.trimEnd().split('\n')) {
      expect(line).toMatch(/^(\S+: +\d+ kB|HugePages_\w+: +\d+|HardwareCorrupted: +\d+ kB)$/);
    }
    expect(text).toMatch(/^VmallocTotal: {3}34359738367 kB$/m);
    expect(text).not.toMatch(/HighTotal/);
  });

  it('follows allocations: MemFree, Slab, PageTables, AnonPages, VmallocUsed', () => {
    const pa = bootMachine({ memBytes: 64 * MiB });
    const free0 = pa.nrFreePages;
    const pt = must(pa.allocPages(GFP.KERNEL | GFP.ZERO, 0));
    pa.setPageType(pt, PageType.Table);
    const anon = must(pa.allocPages(GFP.HIGHUSER_MOVABLE, 0));
    pa.setPageMapping(anon, 'anon');
    pa.setPageFlag(anon, PageFlag.Lru);
    pa.setPageFlag(anon, PageFlag.Active);
    pa.pageMapcountInc(anon);
    pa.kmalloc(100, GFP.KERNEL);
    pa.addVmallocPages(3);
    const text = pa.procMeminfo();
    const val = (key: string): number =>
      Number(new RegExp(`^${key.replace(/[()]/g, '\\$&')}: +(\\d+)`, 'm').exec(text)?.[1]);
    expect(val('MemFree')).toBe((free0 - 3) * 4);
    expect(val('PageTables')).toBe(4);
    expect(val('AnonPages')).toBe(4);
    expect(val('Active(anon)')).toBe(4);
    expect(val('Slab')).toBe(4);
    expect(val('VmallocUsed')).toBe(12);
  });

  it('adds HighTotal/HighFree/LowTotal/LowFree with CONFIG_HIGHMEM', () => {
    const text = bootMachine({ arch: 'x86', memBytes: 1024 * MiB }).procMeminfo();
    expect(text).toMatch(/^HighTotal: {8}131072 kB$/m);
    expect(text).toMatch(/^Hugepagesize: {7}4096 kB$/m);
    expect(text).toMatch(/^DirectMap4M: +\d+ kB$/m);
  });
});

describe('/proc/zoneinfo', () => {
  it('prints every configured zone, stopping after protection for empty ones', () => {
    const text = bootMachine({ memBytes: 64 * MiB }).procZoneinfo();
    expect(text.startsWith('Node 0, zone      DMA\n  per-node stats\n      nr_inactive_anon 0\n')).toBe(true);
    expect(text).toMatch(/Node 0, zone {2}Movable\n {2}pages free {5}0\n {8}boost {4}0\n {8}min {6}32\n/);
    expect(text.endsWith('        protection: (0, 0, 0, 0)\n')).toBe(true);
    expect(text).toMatch(/\n {2}start_pfn: {11}4096\n/);
    expect(text).toContain('\n      nr_balloon_pages 0\n  pages free     3840\n');
    expect(text).toContain('\n      nr_free_pages 3840\n      nr_free_pages_blocks 3584\n');
  });
});

describe('/proc/slabinfo', () => {
  it('prints the 2.1 header and kmalloc caches newest first', () => {
    const pa = bootMachine({ memBytes: 64 * MiB });
    const lines = pa.procSlabinfo().split('\n');
    expect(lines[0]).toBe('slabinfo - version: 2.1');
    expect(lines[1]).toBe(
      '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>',
    );
    const names = lines.slice(2, -1).map((l) => l.split(' ')[0]);
    expect(names).toHaveLength(4 * 13);
    const normal = [
      'kmalloc-8k',
      'kmalloc-4k',
      'kmalloc-2k',
      'kmalloc-1k',
      'kmalloc-512',
      'kmalloc-256',
      'kmalloc-128',
      'kmalloc-64',
      'kmalloc-32',
      'kmalloc-16',
      'kmalloc-8',
      'kmalloc-192',
      'kmalloc-96',
    ];
    expect(names.slice(39)).toEqual(normal);
    expect(names.slice(0, 2)).toEqual(['kmalloc-cg-8k', 'kmalloc-cg-4k']);
    expect(names[13]).toBe('dma-kmalloc-8k');
    expect(names[26]).toBe('kmalloc-rcl-8k');
    expect(lines).toContain(
      'kmalloc-8k             0      0   8192    4    8 : tunables    0    0    0 : slabdata      0      0      0',
    );
  });
});

describe('kpageflags', () => {
  it('reports KPF bits per PFN', () => {
    const pa = bootMachine({ memBytes: 64 * MiB });
    const head = must(pa.allocPages(GFP.KERNEL | GFP.COMP, 1));
    const [h, t, next] = pa.kpageflags(head, 3);
    expect(kpageflagNames(h)).toEqual(['compound_head']);
    expect(kpageflagNames(t)).toEqual(['compound_tail']);
    expect(next & (1 << KPF.BUDDY)).toBeTruthy();
    expect(kpageflagNames(pa.kpageflags(0, 1)[0])).toEqual(['reserved']);
    expect(pa.kpageflagsDump(0, 4)).toBe('offset\tlen\tflags\n0\t4\treserved\n');
    expect(kpageflagNames(pa.kpageflags(pa.zeroPagePfn, 1)[0])).toEqual(['zero_page', 'reserved']);
  });
});

describe('kpagecount', () => {
  it('reports the mapcount per PFN', () => {
    const pa = bootMachine({ memBytes: 16 * MiB });
    const pfn = must(pa.allocPages(GFP.HIGHUSER_MOVABLE, 0));
    pa.pageMapcountInc(pfn);
    pa.pageMapcountInc(pfn);
    expect(pa.kpagecount(pfn, 2)).toEqual([2, 0]);
    expect(() => pa.kpagecount(pfn, 1e9)).toThrow(/count=/);
  });
});

describe('/proc/vmstat', () => {
  it('prints "name value" lines: zone, node, system-wide counters, then events, then nr_unstable', () => {
    const pa = bootMachine({ memBytes: 64 * MiB });
    const pfn = must(pa.allocPages(GFP.KERNEL, 2));
    pa.countVmEvent('pgfault', 3);
    pa.freePages(pfn, 2);
    const text = pa.procVmstat();
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe(`nr_free_pages ${pa.nrFreePages}`);
    expect(lines.at(-1)).toBe('nr_unstable 0');
    for (const l of lines) expect(l).toMatch(/^[a-z0-9_]+ \d+$/);
    expect(text).toContain('\npgalloc_dma32 4\n');
    expect(text).toContain(`\npgfree ${pa.managedPages + 4}\n`);
    expect(text).toContain('\npgfault 3\n');
    expect(text).toContain('\nnr_memmap_boot_pages 256\n');
    expect(() => pa.countVmEvent('pgalloc_normal')).toThrow(InvalidArgumentError);
  });
});
