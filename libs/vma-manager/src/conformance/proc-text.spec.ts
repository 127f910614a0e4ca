import * as fc from 'fast-check';
import { Machine } from '../machine';
import { MmStruct } from '../mm-struct';
import * as M from '../mman';
import { mmap } from '../mmap';
import { mprotect } from '../mprotect';
import { mlock } from '../mlock';
import { procMaps } from '../proc-maps';
import { NO_PAGES, procSmaps, smapsEntry, type SmapsPageStats } from '../proc-smaps';
import { formatMapsLine } from '../proc-maps';
import { parseProcMaps, parseProcSmaps, ProcTextError } from './proc-text';

const A = 0x7e00_0000_0000;
const PAGE = 4096;

/** An mm with private, shared, read-only, locked and PROT_NONE VMAs side by side. */
function sampleMm(): MmStruct {
  const mm = new MmStruct(new Machine());
  const fixed = M.MAP_FIXED_NOREPLACE | M.MAP_ANONYMOUS;
  mmap(mm, A, 4 * PAGE, M.PROT_READ | M.PROT_WRITE, M.MAP_PRIVATE | fixed);
  mmap(mm, A + 8 * PAGE, 2 * PAGE, M.PROT_READ | M.PROT_WRITE, M.MAP_SHARED | fixed);
  mmap(mm, A + 16 * PAGE, 3 * PAGE, M.PROT_READ, M.MAP_PRIVATE | fixed);
  mprotect(mm, A + PAGE, PAGE, M.PROT_NONE);
  mlock(mm, A + 16 * PAGE, PAGE);
  return mm;
}

describe('/proc text read back', () => {
  it('gives every maps line with its bounds, byte for byte', () => {
    const mm = sampleMm();
    const lines = parseProcMaps(procMaps(mm));
    expect(lines).toEqual(
      mm.vmas.all().map((v) => ({ start: v.start, end: v.end, text: formatMapsLine(v) })),
    );
    // named VMAs (shared anonymous memory) keep their padded name column
    expect(lines.some((l) => l.text.endsWith(' /dev/zero (deleted)'))).toBe(true);
  });

  it('gives back the smaps figures it was printed from', () => {
    const mm = sampleMm();
    const stat = (n: number): SmapsPageStats => ({
      ...NO_PAGES,
      rss: 4 * n,
      pss: 2 * n,
      pssDirty: n,
      sharedDirty: 4 * n,
      referenced: 4 * n,
      anonymous: 4 * n,
    });
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 1000 }), { minLength: 5, maxLength: 5 }), (ns) => {
        const vmas = mm.vmas.all();
        const stats = new Map(vmas.map((v, i) => [v, stat(ns[i % ns.length])]));
        const pages = (v: (typeof vmas)[number]) => stats.get(v) as SmapsPageStats;
        const parsed = parseProcSmaps(procSmaps(mm, pages));
        expect(parsed).toEqual(
          vmas.map((v) => {
            const e = smapsEntry(v, pages);
            return {
              start: v.start,
              end: v.end,
              size: e.size,
              stats: e.stats,
              locked: e.locked,
              vmFlags: e.vmFlags,
            };
          }),
        );
      }),
      { numRuns: 20 },
    );
  });

  it('names the file and the line it cannot read', () => {
    expect(() => parseProcMaps('not a maps line\n')).toThrow(ProcTextError);
    expect(() => parseProcSmaps('7e0000000000-7e0000001000 rw-p 00000000 00:00 0 \nRss: 4 kB\n')).toThrow(
      /^smaps: no Pss of VMA 7e0000000000/,
    );
  });
});
