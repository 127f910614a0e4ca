import { WritableEntries } from './writable-entries';

const A = 0x7e0000000000;

describe('WritableEntries', () => {
  it('follows map, protect, unmap and destroy', () => {
    const w = new WritableEntries();
    w.set(1, A, true);
    w.set(1, A + 0x1000, false);
    w.set(2, A, true);
    expect([w.writable(1, A), w.writable(1, A + 0x1000), w.writable(1, A + 0x2000)]).toEqual([
      true,
      false,
      false,
    ]);
    // a huge range walks the map, a small one the range: the same answer
    w.protect(1, { start: 0, end: 2 ** 47 }, true);
    expect(w.writable(1, A + 0x1000)).toBe(true);
    expect(w.writable(1, A + 0x2000)).toBe(false);
    w.protect(1, { start: A, end: A + 0x1000 }, false);
    expect(w.writable(1, A)).toBe(false);
    w.forget(1, { start: A, end: A + 0x1000 });
    expect(w.size(1)).toBe(1);
    w.drop(1);
    expect(w.size(1)).toBe(0);
    expect(w.writable(2, A)).toBe(true);
  });
});
