import { PidMap, RESERVED_PIDS } from './pid-map';

describe('PidMap (alloc_pid)', () => {
  it('hands out pids cyclically from 1, skipping those in use, and restarts at RESERVED_PIDS after pid_max', () => {
    const pids = new PidMap(RESERVED_PIDS + 3);
    const used = new Set<number>();
    const alloc = () => {
      const pid = pids.alloc((p) => used.has(p));
      if (pid !== null) used.add(pid);
      return pid;
    };
    expect([alloc(), alloc(), alloc()]).toEqual([1, 2, 3]);
    // a freed pid is not reused until the cursor wraps
    used.delete(2);
    expect(alloc()).toBe(4);
    for (let p = 5; p < RESERVED_PIDS + 3; p++) expect(alloc()).toBe(p);
    // wrapped: the search starts at RESERVED_PIDS, so pid 2 stays free
    used.delete(2);
    used.delete(RESERVED_PIDS + 1);
    expect(alloc()).toBe(RESERVED_PIDS + 1);
    expect(alloc()).toBeNull();
    expect(used.has(2)).toBe(false);
  });

  it('refuses a pid_max that leaves no room above RESERVED_PIDS', () => {
    expect(() => new PidMap(RESERVED_PIDS)).toThrow(RangeError);
  });
});
