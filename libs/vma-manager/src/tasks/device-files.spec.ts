import { bootMachine } from '@pagemesh/page-allocator';
import { Mmu, inprocPageAllocatorPort, vmGetPageProt } from '@pagemesh/mmu';
import type { Errno } from '@pagemesh/uapi';
import { inprocMmuPort, inprocPagesPort } from '../inproc-ports';
import * as M from '../mman';
import type { DeviceFilesPort } from '../ports';
import { formatMapsLine } from '../proc-maps';
import * as F from '../vm-flags';
import { checkMmInvariants } from '../vma-invariants';
import { VmaManager } from './process-table';

const PAGE = 4096;
const NPAGES = 16;
const O_RDONLY = 0;
const O_RDWR = 2;
const READ = 0x4;
const WRITE_PROT = 0x7;
const SHARED = M.MAP_SHARED;

/**
 * A device below the vma-manager, as the device-drivers layer would answer for it: 16 pages of
 * driver memory, an mmap that remaps them (every `stride`-th page only, EIO above 16 pages) with
 * remap_pfn_range on the real mmu, read/write on the pages' bytes, a proc entry summing the
 * caller's VMAs. It counts file references so tests can see what the vma-manager holds.
 */
async function boot(stride = 1) {
  const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
  const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 1 });
  const pages = inprocPagesPort(pa);
  const pfns = await pages.allocZeroedPages(NPAGES);
  await pages.writeBytes(
    pfns.map((pfn) => ({ pfn, offset: 0, bytes: Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd) })),
  );
  const refs = new Map<number, number>();
  let nextId = 1;
  const ref = (id: number) => {
    if (!refs.has(id)) throw new Error(`file ${id} is not open`);
  };
  const files: DeviceFilesPort = {
    async open(path, flags) {
      if (path !== '/dev/mymmap') return { errno: 'ENOENT' as Errno };
      const id = nextId++;
      refs.set(id, 1);
      const fMode = (flags & 3) === O_RDONLY ? 1 : (flags & 3) === O_RDWR ? 3 : 2;
      return { file: { id, path, fMode, devMajor: 0, devMinor: 5, ino: 1234 } };
    },
    async getFiles(ids) {
      for (const id of ids) {
        ref(id);
        refs.set(id, (refs.get(id) as number) + 1);
      }
    },
    async putFiles(ids) {
      for (const id of ids) {
        ref(id);
        const n = (refs.get(id) as number) - 1;
        if (n === 0) refs.delete(id);
        else refs.set(id, n);
      }
    },
    async read(id, count) {
      ref(id);
      const n = Math.min(count, NPAGES * PAGE);
      const chunks = await pages.readBytes(
        pfns.map((pfn) => ({ pfn, offset: 0, length: PAGE })).slice(0, Math.ceil(n / PAGE)),
      );
      const out = new Uint8Array(n);
      chunks.forEach((c, i) => out.set(c.subarray(0, Math.min(PAGE, n - i * PAGE)), i * PAGE));
      return { data: out };
    },
    async write(id, bytes) {
      ref(id);
      const n = Math.min(bytes.length, NPAGES * PAGE);
      await pages.writeBytes(
        pfns.map((pfn, i) => ({ pfn, offset: 0, bytes: bytes.slice(i * PAGE, Math.min(n, (i + 1) * PAGE)) })),
      );
      return { written: n };
    },
    async mmap(id, asid, vma) {
      ref(id);
      const n = (vma.end - vma.start) / PAGE;
      if (n > NPAGES) return { errno: 'EIO' as Errno };
      let flags = vma.vmFlags;
      let pgoff = vma.pgoff;
      const prot = vmGetPageProt(vma.vmFlags, mmu.profile.prot);
      for (let i = 0; i < n; i += stride) {
        const r = await mmu.remapPfnRange(
          asid,
          { start: vma.start, end: vma.end, flags, pgoff },
          vma.start + i * PAGE,
          pfns[i],
          PAGE,
          prot,
        );
        if (r.errno) return { errno: r.errno };
        flags = r.vmFlags;
        pgoff = r.vmPgoff;
      }
      return { vmFlags: flags, pgoff };
    },
    async readProc(name, caller) {
      if (name !== 'my-proc-entry') return { errno: 'ENOENT' as Errno };
      const total = caller.vmas.reduce((s, v) => s + (v.end - v.start), 0);
      return { text: `${total} ${caller.comm}\n` };
    },
  };
  const vm = await VmaManager.create({ mmu: inprocMmuPort(mmu), pages, files });
  /** free pages with the driver's memory given back (the zero page stays, set up once) */
  const freeBefore = pa.nrFreePages + NPAGES;
  return { pa, mmu, vm, pfns, refs, freeBefore, pages };
}

async function mmapDev(
  vm: VmaManager,
  pid: number,
  fd: number,
  pages = NPAGES,
  prot = M.PROT_READ,
  addr = 0,
) {
  const flags = SHARED | (addr ? M.MAP_FIXED : 0);
  const [r] = await vm.syscalls([
    { pid, call: { kind: 'mmap', addr, length: pages * PAGE, prot, flags, fd } },
  ]);
  return r;
}

const ret = (r: M.SyscallResult) => (r as { ret: number }).ret;

describe('device files: fd table, read/write, mmap of a device, /proc entry', () => {
  it('open gives the lowest free fd; read/write/close of an fd not open is EBADF; a missing node ENOENT', async () => {
    const { vm, refs } = await boot();
    const pid = await vm.createProcess('mmap-test');
    expect(await vm.open(pid, '/dev/mymmap', O_RDWR)).toEqual({ ret: 0 });
    expect(await vm.open(pid, '/dev/mymmap', O_RDWR)).toEqual({ ret: 1 });
    expect(await vm.open(pid, '/dev/nothing', O_RDWR)).toEqual({ errno: 'ENOENT' });
    expect(await vm.close(pid, 0)).toEqual({ ret: 0 });
    expect(await vm.open(pid, '/dev/mymmap', O_RDWR)).toEqual({ ret: 0 });
    expect(await vm.close(pid, 5)).toEqual({ errno: 'EBADF' });
    expect(await vm.read(pid, -1, 4)).toEqual({ errno: 'EBADF' });
    expect(await vm.write(pid, 7, new Uint8Array(4))).toEqual({ errno: 'EBADF' });
    expect(await mmapDev(vm, pid, 9)).toEqual({ errno: 'EBADF' });
    expect(await mmapDev(vm, pid, -1)).toEqual({ errno: 'EBADF' });
    expect([...refs.values()]).toEqual([1, 1]);
  });

  it('EMFILE when RLIMIT_NOFILE (1024) fds are open, before the path is looked up', async () => {
    const { vm } = await boot();
    const pid = await vm.createProcess('many');
    for (let i = 0; i < 1024; i++) expect(await vm.open(pid, '/dev/mymmap', O_RDWR)).toEqual({ ret: i });
    expect(await vm.open(pid, '/dev/mymmap', O_RDWR)).toEqual({ errno: 'EMFILE' });
    expect(await vm.open(pid, '/dev/nothing', O_RDWR)).toEqual({ errno: 'EMFILE' });
  });

  it('write then read go to the driver; the bytes show through the device mapping', async () => {
    const { vm } = await boot();
    const pid = await vm.createProcess('mmap-test');
    const fd = ret(await vm.open(pid, '/dev/mymmap', O_RDWR));
    const base = ret(await mmapDev(vm, pid, fd));
    const buf = new Uint8Array(NPAGES * PAGE);
    for (let i = 0; i < NPAGES; i++) buf.set([0xa0, 0xb0, 0xc0, 0xd0], i * PAGE);
    expect(await vm.write(pid, fd, buf)).toEqual({ ret: 65536 });
    const walk = await vm.task(pid).mm.access(base, NPAGES, false);
    expect(walk.signal).toBeNull();
    expect(walk.bytes).toEqual(new Array(NPAGES).fill(0xa0));
    const r = await vm.read(pid, fd, NPAGES * PAGE);
    expect('data' in r && r.ret).toBe(65536);
    expect('data' in r && [...r.data.subarray(PAGE * 15, PAGE * 15 + 4)]).toEqual([0xa0, 0xb0, 0xc0, 0xd0]);
  });

  it('mmap of a device: r--s, offset, devtmpfs dev and inode, the path; VM_IO|VM_PFNMAP|VM_DONTEXPAND|VM_DONTDUMP; no RSS, no refcount or mapcount', async () => {
    const { pa, vm, pfns, refs } = await boot();
    const pid = await vm.createProcess('mmap-test');
    const fd = ret(await vm.open(pid, '/dev/mymmap', O_RDWR));
    const before = pfns.map((p) => [pa.pageCount(p), pa.pageMapcount(p)]);
    const base = ret(await mmapDev(vm, pid, fd));
    const mm = vm.task(pid).mm.mm;
    const [vma] = mm.vmas.all();
    const hex = (v: number) => v.toString(16);
    expect(await vm.procFile(pid, 'maps')).toBe(
      `${hex(base)}-${hex(base + NPAGES * PAGE)} r--s 00000000 00:05 1234`.padEnd(72) + ' /dev/mymmap\n',
    );
    // the 51-character prefix is padded to column 72, then one space: the name at column 73
    expect(formatMapsLine(vma).indexOf('/dev/mymmap')).toBe(73);
    expect(vma.vmFlags).toBe(
      F.VM_READ |
        F.VM_SHARED |
        F.VM_MAYREAD |
        F.VM_MAYWRITE |
        F.VM_MAYEXEC |
        F.VM_MAYSHARE |
        F.VM_PFNMAP |
        F.VM_IO |
        F.VM_DONTEXPAND |
        F.VM_DONTDUMP,
    );
    const smaps = await vm.procFile(pid, 'smaps');
    expect(smaps).toContain('VmFlags: rd sh mr mw me ms pf io de dd \n');
    expect(smaps).toMatch(/^Rss: +0 kB$/m);
    const status = await vm.procFile(pid, 'status');
    expect(status).toMatch(/VmRSS:\s+0 kB/);
    // every page present through a special PTE; the driver's pages are untouched
    const entries = await vm.task(pid).mm.pagemap(base, base + NPAGES * PAGE);
    expect(entries.map((e) => [e.present, e.special, e.pfn])).toEqual(pfns.map((p) => [true, true, p]));
    expect(pfns.map((p) => [pa.pageCount(p), pa.pageMapcount(p)])).toEqual(before);
    // the fd and the VMA each hold a reference
    expect([...refs.values()]).toEqual([2]);
    // reads complete without a fault; a write to the read-only shared mapping is SEGV_ACCERR
    expect((await vm.task(pid).mm.access(base, NPAGES, false)).bytes).toEqual(new Array(NPAGES).fill(0xaa));
    expect(vm.task(pid).mm.minflt).toBe(0);
    expect(await vm.handleFaults([{ pid, address: base, errorCode: WRITE_PROT }])).toEqual([
      'sigsegv-accerr',
    ]);
    checkMmInvariants(mm);
  });

  it('a read-only open maps r--s without VM_MAYWRITE or VM_SHARED; PROT_WRITE shared on it is EACCES', async () => {
    const { vm } = await boot();
    const pid = await vm.createProcess('ro');
    const fd = ret(await vm.open(pid, '/dev/mymmap', O_RDONLY));
    expect(await mmapDev(vm, pid, fd, NPAGES, M.PROT_READ | M.PROT_WRITE)).toEqual({ errno: 'EACCES' });
    ret(await mmapDev(vm, pid, fd));
    const [vma] = vm.task(pid).mm.mm.vmas.all();
    expect(vma.vmFlags & (F.VM_MAYWRITE | F.VM_SHARED)).toBe(0);
    expect(vma.vmFlags & F.VM_MAYSHARE).toBe(F.VM_MAYSHARE);
    expect(await vm.procFile(pid, 'maps')).toContain(' r--s 00000000 00:05 1234 ');
  });

  it("the driver's EIO (17 pages) fails mmap with EIO and leaves no VMA and no extra reference", async () => {
    const { vm, refs } = await boot();
    const pid = await vm.createProcess('mmap-test');
    const fd = ret(await vm.open(pid, '/dev/mymmap', O_RDWR));
    expect(await mmapDev(vm, pid, fd, 17)).toEqual({ errno: 'EIO' });
    expect(await vm.procFile(pid, 'maps')).toBe('');
    expect(vm.task(pid).mm.mm.totalVm).toBe(0);
    expect([...refs.values()]).toEqual([1]);
  });

  it('a page the driver left unmapped raises SIGBUS; its mapped neighbours read', async () => {
    const { vm } = await boot(2);
    const pid = await vm.createProcess('stride');
    const fd = ret(await vm.open(pid, '/dev/mymmap', O_RDWR));
    const base = ret(await mmapDev(vm, pid, fd, 4));
    expect(await vm.handleFaults([{ pid, address: base + PAGE, errorCode: READ }])).toEqual(['sigbus']);
    const walk = await vm.task(pid).mm.access(base, 2, false);
    expect(walk).toEqual({ done: 1, signal: 'SIGBUS', bytes: [0xaa] });
  });

  it('two adjacent device mappings of one file never merge; mremap cannot grow one (EFAULT)', async () => {
    const { vm, refs } = await boot();
    const pid = await vm.createProcess('mmap-test');
    const fd = ret(await vm.open(pid, '/dev/mymmap', O_RDWR));
    const base = 0x7e00_0000_0000;
    ret(await mmapDev(vm, pid, fd, 2, M.PROT_READ, base));
    // the next two pages at file offset 2 pages: contiguous in address and pgoff
    const [r] = await vm.syscalls([
      {
        pid,
        call: {
          kind: 'mmap',
          addr: base + 2 * PAGE,
          length: 2 * PAGE,
          prot: M.PROT_READ,
          flags: SHARED | M.MAP_FIXED,
          fd,
          offset: 2 * PAGE,
        },
      },
    ]);
    expect(ret(r)).toBe(base + 2 * PAGE);
    const maps = (await vm.procFile(pid, 'maps')).split('\n').filter(Boolean);
    expect(maps).toHaveLength(2);
    expect(maps[1]).toContain(' r--s 00002000 00:05 1234 ');
    checkMmInvariants(vm.task(pid).mm.mm);
    expect(refs.get(1)).toBe(3);
    const [g] = await vm.syscalls([
      {
        pid,
        call: {
          kind: 'mremap',
          oldAddr: base + 2 * PAGE,
          oldLength: 2 * PAGE,
          newLength: 3 * PAGE,
          flags: 0,
        },
      },
    ]);
    expect(g).toEqual({ errno: 'EFAULT' });
  });

  it('munmap clears the PTEs and drops the VMA reference; a split VMA holds one per piece', async () => {
    const { vm, refs, pfns, pa } = await boot();
    const pid = await vm.createProcess('mmap-test');
    const fd = ret(await vm.open(pid, '/dev/mymmap', O_RDWR));
    const base = ret(await mmapDev(vm, pid, fd));
    await vm.syscalls([{ pid, call: { kind: 'munmap', addr: base + 4 * PAGE, length: PAGE } }]);
    expect(refs.get(1)).toBe(3);
    checkMmInvariants(vm.task(pid).mm.mm);
    await vm.syscalls([{ pid, call: { kind: 'munmap', addr: base, length: NPAGES * PAGE } }]);
    expect(refs.get(1)).toBe(1);
    expect((await vm.task(pid).mm.pagemap(base, base + NPAGES * PAGE)).some((e) => e.present)).toBe(false);
    expect(pfns.map((p) => pa.pageCount(p))).toEqual(new Array(NPAGES).fill(1));
    expect(await vm.close(pid, fd)).toEqual({ ret: 0 });
    expect(refs.size).toBe(0);
  });

  it('fork copies the PFN mappings (no refcount change) and shares the open files; exit closes them and frees every page', async () => {
    const { pa, vm, pfns, refs, freeBefore, pages } = await boot();
    const pid = await vm.createProcess('mmap-test');
    const fd = ret(await vm.open(pid, '/dev/mymmap', O_RDWR));
    const base = ret(await mmapDev(vm, pid, fd));
    const child = await vm.fork(pid);
    // parent fd + parent VMA + child fd + child VMA
    expect(refs.get(1)).toBe(4);
    const ce = await vm.task(child).mm.pagemap(base, base + NPAGES * PAGE);
    expect(ce.map((e) => [e.present, e.special, e.pfn])).toEqual(pfns.map((p) => [true, true, p]));
    expect(pfns.map((p) => [pa.pageCount(p), pa.pageMapcount(p)])).toEqual(pfns.map(() => [1, 0]));
    expect(await vm.procFile(child, 'maps')).toBe(await vm.procFile(pid, 'maps'));
    // the child reads the driver's pages without faulting
    expect((await vm.task(child).mm.access(base, NPAGES, false)).bytes).toEqual(new Array(NPAGES).fill(0xaa));
    expect(vm.task(child).mm.minflt).toBe(0);
    // the child's close leaves the parent's fd usable
    expect(await vm.close(child, fd)).toEqual({ ret: 0 });
    expect(await vm.read(pid, fd, 4)).toMatchObject({ ret: 4 });
    await vm.exitProcess(child);
    expect(refs.get(1)).toBe(2);
    await vm.exitProcess(pid);
    expect(refs.size).toBe(0);
    await pages.putPages(pfns);
    expect(pa.nrFreePages).toBe(freeBefore);
  });

  it("/proc/my-proc-entry gets the caller's comm and VMAs; a 10 MiB mapping adds 10 << 20", async () => {
    const { vm } = await boot();
    const pid = await vm.createProcess('mmap-test');
    const fd = ret(await vm.open(pid, '/dev/mymmap', O_RDWR));
    ret(await mmapDev(vm, pid, fd));
    const before = await vm.procEntry(pid, 'my-proc-entry');
    expect(before).toEqual({ text: '65536 mmap-test\n' });
    await vm.syscalls([
      {
        pid,
        call: {
          kind: 'mmap',
          addr: 0,
          length: 10 << 20,
          prot: M.PROT_READ,
          flags: M.MAP_PRIVATE | M.MAP_ANONYMOUS,
        },
      },
    ]);
    expect(await vm.procEntry(pid, 'my-proc-entry')).toEqual({ text: `${65536 + (10 << 20)} mmap-test\n` });
    expect(await vm.procEntry(pid, 'nothing')).toEqual({ errno: 'ENOENT' });
  });

  it('without a device-files port nothing opens', async () => {
    const pa = bootMachine({ arch: 'x86_64', memBytes: 64 * 2 ** 20 });
    const mmu = await Mmu.boot(inprocPageAllocatorPort(pa), { cpus: 1 });
    const vm = await VmaManager.create({ mmu: inprocMmuPort(mmu), pages: inprocPagesPort(pa) });
    const pid = await vm.createProcess('x');
    expect(await vm.open(pid, '/dev/mymmap', O_RDWR)).toEqual({ errno: 'ENOENT' });
    expect(await vm.procEntry(pid, 'my-proc-entry')).toEqual({ errno: 'ENOENT' });
  });
});
