import { PAGE_SIZE } from '@pagemesh/uapi';

import { MMAP_DEV, MY_MAJOR, MY_MINOR } from './drivers/lab-constants';
import { CharDevices, mkdev, majorOf, minorOf } from './driver-model';
import { DeviceDriversError, NotFoundError } from './errors';
import { O_RDONLY, O_RDWR, O_WRONLY } from './file';
import { inprocDriverPorts } from './inproc-ports';
import { type ModuleDefinition, parseIntParam } from './module';
import { DeviceDrivers } from './device-drivers';
import { bootLabMachine } from './testing/lab-machine';

function kindOf(e: unknown): string {
  return e instanceof DeviceDriversError ? `${e.kind}:${e.field}` : String(e);
}

describe('device nodes and chrdev regions', () => {
  it('mknod on an existing path is EEXIST; unlink of a missing one ENOENT; open without a node ENOENT, without a cdev ENXIO', async () => {
    const { dd } = await bootLabMachine();
    expect(await dd.open(MMAP_DEV, O_RDWR)).toEqual({ errno: 'ENOENT' });
    expect(await dd.mknod(MMAP_DEV, MY_MAJOR, MY_MINOR)).toEqual({ errno: null });
    expect(await dd.mknod(MMAP_DEV, 1, 3)).toEqual({ errno: 'EEXIST' });
    expect(dd.deviceNodes()).toEqual([{ path: MMAP_DEV, type: 'c', major: 42, minor: 0 }]);
    expect(await dd.open(MMAP_DEV, O_RDWR)).toEqual({ errno: 'ENXIO' });
    expect(await dd.unlink(MMAP_DEV)).toEqual({ errno: null });
    expect(await dd.unlink(MMAP_DEV)).toEqual({ errno: 'ENOENT' });
    await expect(dd.mknod('dev/mymmap', 42, 0)).rejects.toThrow(/path="dev\/mymmap"/);
    await expect(dd.mknod('/dev/x', 42, -1).catch(kindOf)).resolves.toBe('invalid-argument:minor');
  });

  it('a node with another minor reaches no cdev (ENXIO); each driver can be loaded in its turn behind /dev/mymmap', async () => {
    const { dd } = await bootLabMachine();
    await dd.mknod(MMAP_DEV, MY_MAJOR, MY_MINOR);
    await dd.mknod('/dev/mymmap1', MY_MAJOR, 1);
    for (const name of ['kmmap', 'vmmap', 'pages']) {
      expect(await dd.loadModule(name)).toEqual({ errno: null });
      expect(await dd.open('/dev/mymmap1', O_RDWR)).toEqual({ errno: 'ENXIO' });
      const opened = await dd.open(MMAP_DEV, O_RDWR);
      expect('file' in opened && opened.file.module).toBe(name);
      if ('file' in opened) await dd.fput(opened.file.id);
      expect(await dd.unloadModule(name)).toEqual({ errno: null });
    }
  });

  it('register_chrdev_region: EBUSY on overlap, EINVAL beyond CHRDEV_MAJOR_MAX or MINORMASK; /proc/devices', () => {
    const c = new CharDevices();
    expect(c.registerRegion(42, 0, 1, 'mymap')).toBeNull();
    expect(c.registerRegion(42, 0, 4, 'other')).toBe('EBUSY');
    expect(c.registerRegion(42, 1, 4, 'other')).toBeNull();
    expect(c.registerRegion(512, 0, 1, 'x')).toBe('EINVAL');
    expect(c.registerRegion(7, 2, 2 ** 20 - 1, 'x')).toBe('EINVAL');
    expect(c.registerRegion(240, 0, 1, 'a-name')).toBeNull();
    expect(c.procDevices()).toBe('Character devices:\n 42 mymap\n 42 other\n240 a-name\n');
    c.unregisterRegion(42, 0, 1);
    expect(c.regionList().map((r) => r.name)).toEqual(['other', 'a-name']);
    expect(majorOf(mkdev(42, 7))).toBe(42);
    expect(minorOf(mkdev(42, 7))).toBe(7);
    expect(mkdev(42, 0)).toBe(42 << 20);
  });
});

describe('modules', () => {
  it('lists the catalog; EEXIST when loaded twice; ENOENT when unloading what is not loaded; an unknown name is a typed not-found', async () => {
    const { dd } = await bootLabMachine();
    expect(dd.listModules().map((m) => [m.name, m.loaded])).toEqual([
      ['kmmap', false],
      ['vmmap', false],
      ['pages', false],
    ]);
    expect(await dd.unloadModule('kmmap')).toEqual({ errno: 'ENOENT' });
    expect(await dd.loadModule('kmmap')).toEqual({ errno: null });
    expect(await dd.loadModule('kmmap')).toEqual({ errno: 'EEXIST' });
    const e = await dd.loadModule('nosuch').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    expect(e).toMatchObject({ kind: 'not-found', field: 'name', value: 'nosuch' });
    await expect(dd.unloadModule('nosuch')).rejects.toBeInstanceOf(NotFoundError);
    await expect(dd.driverMemory('nosuch')).rejects.toBeInstanceOf(NotFoundError);
    expect(await dd.driverMemory('vmmap')).toBeNull();
  });

  it('the lab drivers cannot be loaded together: the second proc_create fails (ENOMEM); pages then finds 42:0 taken (EBUSY); nothing leaks', async () => {
    const { dd, pa, mmu } = await bootLabMachine();
    const free = pa.nrFreePages + mmu.tablePages();
    await dd.loadModule('kmmap');
    const afterOne = pa.nrFreePages + mmu.tablePages();
    expect(await dd.loadModule('vmmap')).toEqual({ errno: 'ENOMEM' });
    expect(await dd.loadModule('pages')).toEqual({ errno: 'EBUSY' });
    expect(pa.nrFreePages + mmu.tablePages()).toBe(afterOne);
    expect(
      dd
        .listModules()
        .filter((m) => m.loaded)
        .map((m) => m.name),
    ).toEqual(['kmmap']);
    expect(dd.procDevices()).toBe('Character devices:\n 42 mymap\n');
    await dd.unloadModule('kmmap');
    expect(pa.nrFreePages + mmu.tablePages()).toBe(free);
  });

  it('init fails cleanly when memory runs out (ENOMEM): no region, no proc entry, no page kept', async () => {
    const { dd, pa } = await bootLabMachine('x86_64', 16 * 2 ** 20);
    const hog: number[] = [];
    for (
      let p = pa.allocPages(0xcc0 | 0x2000 /* __GFP_NOWARN */, 0);
      p !== null;
      p = pa.allocPages(0xcc0 | 0x2000, 0)
    )
      hog.push(p);
    expect(await dd.loadModule('kmmap')).toEqual({ errno: 'ENOMEM' });
    expect(await dd.loadModule('pages')).toEqual({ errno: 'ENOMEM' });
    expect(dd.procDevices()).toBe('Character devices:\n');
    expect(dd.procEntries()).toEqual([]);
    expect(dd.dmesg()).toContain('could not allocate memory');
    for (const p of hog) pa.freePages(p, 0);
    expect(await dd.loadModule('kmmap')).toEqual({ errno: null });
  });

  it('parses integer parameters as kstrtoint does', () => {
    expect(['0', '7', '010', '0x1f', '-3', '+4', ' 5 '].map(parseIntParam)).toEqual([0, 7, 8, 31, -3, 4, 5]);
    expect(['', 'x', '1.5', '08', '2147483648'].map(parseIntParam)).toEqual([null, null, null, null, null]);
  });
});

describe('files', () => {
  async function opened(flags: number) {
    const m = await bootLabMachine();
    await m.dd.loadModule('kmmap');
    await m.dd.mknod(MMAP_DEV, MY_MAJOR, MY_MINOR);
    const o = await m.dd.open(MMAP_DEV, flags);
    if (!('file' in o)) throw new Error(o.errno);
    return { ...m, file: o.file };
  }

  it('f_mode from the access mode: read needs FMODE_READ, write FMODE_WRITE (EBADF otherwise)', async () => {
    const ro = await opened(O_RDONLY);
    expect(ro.file.fMode).toBe(1);
    expect(await ro.dd.write(ro.file.id, Uint8Array.of(1))).toEqual({ errno: 'EBADF' });
    expect('data' in (await ro.dd.read(ro.file.id, 4))).toBe(true);
    const wo = await opened(O_WRONLY);
    expect(await wo.dd.read(wo.file.id, 4)).toEqual({ errno: 'EBADF' });
    expect(await wo.dd.write(wo.file.id, Uint8Array.of(1))).toEqual({ written: 1 });
    const neither = await opened(3);
    expect(neither.file.fMode).toBe(0);
    expect(await neither.dd.read(neither.file.id, 4)).toEqual({ errno: 'EBADF' });
  });

  it('unknown file ids and malformed requests are typed errors and change nothing', async () => {
    const { dd, file, mmu } = await opened(O_RDWR);
    await expect(dd.read(999, 4).catch(kindOf)).resolves.toBe('not-found:fileId');
    await expect(dd.fput(999).catch(kindOf)).resolves.toBe('not-found:fileId');
    await expect(dd.read(file.id, -1).catch(kindOf)).resolves.toBe('invalid-argument:count');
    await expect(dd.read(file.id, 4, 0.5).catch(kindOf)).resolves.toBe('invalid-argument:offset');
    await expect(dd.open(MMAP_DEV, -1).catch(kindOf)).resolves.toBe('invalid-argument:flags');
    const prot = mmu.profile.prot.PAGE_READONLY;
    const bad = [
      { vmStart: 0x1001, vmEnd: 0x3000, vmFlags: 0, vmPgoff: 0, vmPageProt: prot },
      { vmStart: 0x3000, vmEnd: 0x3000, vmFlags: 0, vmPgoff: 0, vmPageProt: prot },
      { vmStart: 0x1000, vmEnd: 0x3000, vmFlags: -1, vmPgoff: 0, vmPageProt: prot },
      { vmStart: 0x1000, vmEnd: 0x3000, vmFlags: 0, vmPgoff: 0.5, vmPageProt: prot },
    ];
    for (const vma of bad)
      await expect(dd.mmap(file.id, vma)).rejects.toMatchObject({ kind: 'invalid-argument' });
    expect(dd.fileInfo(file.id)).toEqual(file);
    expect(dd.openFiles()).toEqual([file]);
  });

  it('get_file/fput: the last reference releases the file and unpins the module', async () => {
    const { dd, file } = await opened(O_RDWR);
    expect((await dd.getFile(file.id)).count).toBe(2);
    expect(dd.listModules()[0].refcount).toBe(1); // one file, however many references
    expect(await dd.fput(file.id)).toEqual({ released: false });
    expect(await dd.fput(file.id)).toEqual({ released: true });
    expect(dd.openFiles()).toEqual([]);
    expect(dd.listModules()[0].refcount).toBe(0);
    await expect(dd.fput(file.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('two opens pin the module twice; an unlinked node leaves open files working', async () => {
    const { dd, file } = await opened(O_RDWR);
    const second = await dd.open(MMAP_DEV, O_RDONLY);
    if (!('file' in second)) throw new Error(second.errno);
    expect(second.file.id).not.toBe(file.id);
    expect(dd.listModules()[0].refcount).toBe(2);
    await dd.unlink(MMAP_DEV);
    expect(await dd.read(file.id, 4)).toEqual({ data: Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd) });
    await dd.fput(file.id);
    expect(await dd.unloadModule('kmmap')).toEqual({ errno: 'EAGAIN' });
    await dd.fput(second.file.id);
    expect(await dd.unloadModule('kmmap')).toEqual({ errno: null });
  });

  it('calls run one at a time in call order', async () => {
    const { dd, file } = await opened(O_RDWR);
    const [w, r] = await Promise.all([
      dd.write(file.id, new Uint8Array(PAGE_SIZE).fill(3)),
      dd.read(file.id, 2),
    ]);
    expect(w).toEqual({ written: PAGE_SIZE });
    expect(r).toEqual({ data: Uint8Array.of(3, 3) });
  });
});

describe('in-process ports', () => {
  it('SetPageReserved over a batch is all or nothing: a free page in it leaves every flag as it was', async () => {
    const { pa, mmu } = await bootLabMachine();
    const ports = inprocDriverPorts(pa, mmu);
    const a = pa.allocPages(0xcc0, 0) as number;
    const b = pa.allocPages(0xcc0, 0) as number;
    pa.freePages(b, 0);
    await expect(ports.pageAllocator.setPagesReserved([a, b])).rejects.toMatchObject({
      kind: 'failed-precondition',
    });
    expect(await ports.pageAllocator.testPagesReserved([a])).toEqual([false]);
    await ports.pageAllocator.setPagesReserved([a]);
    expect(await ports.pageAllocator.testPagesReserved([a])).toEqual([true]);
    await expect(ports.pageAllocator.clearPagesReserved([a, b])).rejects.toMatchObject({
      kind: 'failed-precondition',
    });
    expect(await ports.pageAllocator.testPagesReserved([a])).toEqual([true]);
  });
});

describe('custom module catalogs', () => {
  const noMmap: ModuleDefinition = {
    name: 'plain',
    description: 'a character device with read only',
    params: [],
    instantiate: () => {
      const fops = { read: async () => ({ data: Uint8Array.of(1) }) };
      const cdev = { dev: mkdev(60, 0), count: 1, fops, owner: 'plain' };
      return {
        async init(k) {
          k.chrdev.cdevAdd(cdev);
          return null;
        },
        async exit(k) {
          k.chrdev.cdevDel(cdev);
        },
        memory: () => null,
      };
    },
  };

  it('a driver without mmap makes mmap fail with ENODEV, without write EINVAL', async () => {
    const { pa, mmu } = await bootLabMachine();
    const dd = await DeviceDrivers.create(inprocDriverPorts(pa, mmu), { modules: [noMmap] });
    await dd.loadModule('plain');
    await dd.mknod('/dev/plain', 60, 0);
    const o = await dd.open('/dev/plain', O_RDWR);
    if (!('file' in o)) throw new Error(o.errno);
    const vma = {
      vmStart: 0x1000,
      vmEnd: 0x2000,
      vmFlags: 0x8,
      vmPgoff: 0,
      vmPageProt: mmu.profile.prot.PAGE_SHARED,
    };
    expect(await dd.mmap(o.file.id, vma)).toEqual({ errno: 'ENODEV' });
    expect(await dd.write(o.file.id, Uint8Array.of(1))).toEqual({ errno: 'EINVAL' });
    expect(await dd.read(o.file.id, 1)).toEqual({ data: Uint8Array.of(1) });
    dd.checkInvariants();
  });

  it('a name twice in the catalog is a typed already-exists error', async () => {
    const { pa, mmu } = await bootLabMachine();
    await expect(
      DeviceDrivers.create(inprocDriverPorts(pa, mmu), { modules: [noMmap, noMmap] }),
    ).rejects.toMatchObject({
      kind: 'already-exists',
      field: 'name',
      value: 'plain',
    });
  });
});
