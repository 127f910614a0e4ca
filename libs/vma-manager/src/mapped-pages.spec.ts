import fc from 'fast-check';
import { MappedPages, PTE_TABLE_SPAN, type PageKind } from './mapped-pages';

const PAGE = 4096;
/** Three PTE spans, the first ending at 2^47 - 2 MiB: queries cross span boundaries. */
const BASE = 2 ** 47 - 3 * PTE_TABLE_SPAN;
const page = fc.nat({ max: 3 * 512 - 1 }).map((p) => BASE + p * PAGE);
const kind = fc.constantFrom<PageKind>('anon', 'shmem', 'none');
const op = fc.oneof(
  fc.record({ op: fc.constant('set' as const), va: page, kind }),
  fc.record({ op: fc.constant('delete' as const), va: page }),
);

describe('MappedPages', () => {
  it('answers as a map of page addresses would', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), page, page, (ops, a, b) => {
        const pages = new MappedPages();
        const model = new Map<number, PageKind>();
        for (const o of ops) {
          if (o.op === 'set') {
            expect(pages.set(o.va, o.kind)).toBe(model.get(o.va));
            model.set(o.va, o.kind);
          } else {
            expect(pages.delete(o.va)).toBe(model.get(o.va));
            model.delete(o.va);
          }
        }
        expect(pages.size).toBe(model.size);
        const [start, end] = a <= b ? [a, b + PAGE] : [b, a + PAGE];
        const inRange = [...model.keys()].filter((va) => va >= start && va < end).sort((x, y) => x - y);
        expect(pages.vasIn(start, end)).toEqual(inRange);
        expect(pages.anyIn(start, end)).toBe(inRange.length > 0);
        expect(pages.get(a)).toBe(model.get(a));
        const span = Math.floor(a / PTE_TABLE_SPAN);
        expect(pages.hasTable(a)).toBe(
          [...model.keys()].some((va) => Math.floor(va / PTE_TABLE_SPAN) === span),
        );
      }),
    );
  });
});
