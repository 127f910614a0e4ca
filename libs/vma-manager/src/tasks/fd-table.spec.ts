import { FdTable } from './fd-table';
import type { DeviceFileInfo } from '../ports';

const file = (id: number): DeviceFileInfo => ({
  id,
  path: '/dev/x',
  fMode: 3,
  devMajor: 0,
  devMinor: 5,
  ino: 1,
});

describe('FdTable', () => {
  it('hands out the lowest free fd, reusing a closed one first', () => {
    const t = new FdTable();
    for (let i = 0; i < 3; i++) {
      const fd = t.lowestFree() as number;
      expect(fd).toBe(i);
      t.install(fd, file(i + 10));
    }
    expect(t.remove(1)?.id).toBe(11);
    expect(t.lowestFree()).toBe(1);
    expect(t.get(1)).toBeUndefined();
    expect(t.get(2)?.id).toBe(12);
  });

  it('EMFILE once RLIMIT_NOFILE fds are open; unknown and negative fds are not there', () => {
    const t = new FdTable(2);
    t.install(t.lowestFree() as number, file(1));
    t.install(t.lowestFree() as number, file(2));
    expect(t.lowestFree()).toBe('EMFILE');
    expect(t.get(-1)).toBeUndefined();
    expect(t.get(2)).toBeUndefined();
    expect(t.remove(7)).toBeUndefined();
  });

  it('a clone names the same files; closeAll empties the table and gives them back in fd order', () => {
    const t = new FdTable();
    t.install(0, file(5));
    t.install(3, file(6));
    const c = t.clone();
    expect(c.entries()).toEqual(t.entries());
    expect(c.limit).toBe(t.limit);
    expect(t.closeAll().map((f) => f.id)).toEqual([5, 6]);
    expect(t.size).toBe(0);
    expect(c.size).toBe(2);
  });
});
