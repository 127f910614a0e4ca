import { formatVa48, PAGE_SIZE } from '@pagemesh/uapi';
import type {
  AllocatorCounters,
  DeviceDriversPort,
  FaultOutcome,
  MmuPort,
  PageAllocatorPort,
  PhysMemoryMap,
  Stack,
  Syscall,
  SyscallResult,
  UserAccess,
  VmaManagerPort,
} from '../ports';
import type { BuddySample, ExpectationResult, ProcSnapshot, RunReport } from '../report/model';
import type { Addr, Expectation, Op, SignalName, SyscallExpect, Workload } from '../workload/model';
import { bytesToHex } from '../workload/values';
import { checkBuddyinfo, checkMeminfo, checkProcess, describeExpectation, result } from './expectations';
import { cursorResults, makeCursor } from './cursor';
import { buddyFreePages, firstInteger, parseBuddyinfo, parseMaps } from './proc-text';
import { deriveSeed } from './prng';
import { BoundaryRecorder } from './recorder';
import { formatCall, formatRet, isSyscallOp, savesValue, toSyscall } from './syscalls';
import { Task, type AccessCursor } from './task';
import { TaskFault } from './task-fault';
import { processReport } from './process-report';
import { countUnits } from './units';

export interface RunOptions {
  /** Overrides the workload's seed. */
  readonly seed?: number;
  /** Called after each scheduler round with work units done (syscalls + accesses) and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Run the CPUs' slices of a round concurrently. Faster over gRPC, but the services then see
   * the calls of different CPUs in arrival order, so PFNs (not the expectations of a well-formed
   * workload) may differ between runs. Off by default: the slices of a round run in CPU order.
   */
  readonly overlapCpus?: boolean;
  /** Most accesses in one accessBatch call (default 256). */
  readonly batchSize?: number;
  /** Rounds between two samples of /proc/buddyinfo (default 8). */
  readonly sampleEvery?: number;
  /** Syscalls kept per process in the report's log (default 200). */
  readonly logLimit?: number;
  /** Clock for latencies (ms); performance.now by default. */
  readonly now?: () => number;
}

/**
 * Faults one access may take in a row at one address: a fetch from a not-present page of a
 * non-exec VMA takes two (not-present, then PROT|INSTR; kernel-semantics.md §9.1). More means
 * the handler and the mmu disagree; the process gets SIGSEGV instead of a livelock.
 */
const MAX_FAULTS_PER_ACCESS = 4;

/**
 * Replay a workload on a booted stack and report. The CPUs run round robin: each round, every
 * CPU takes the next ready process (CR3 switch when it changes), runs it for `quantum` work
 * units (a syscall or an access), and puts it back at the tail of the queue. An access batch
 * stops at the first fault; the fault goes to the vma-manager's handler and the faulting access
 * is retried, once per fault. SIGSEGV/SIGBUS kill the process unless its op expects them.
 */
export async function runWorkload(
  workload: Workload,
  stack: Stack,
  options: RunOptions = {},
): Promise<RunReport> {
  return new Engine(workload, stack, options).run();
}

class Engine {
  private readonly recorder: BoundaryRecorder;
  private readonly vma: VmaManagerPort;
  private readonly mmu: MmuPort;
  private readonly pages: PageAllocatorPort;
  private readonly devices: DeviceDriversPort;
  private readonly seed: number;
  private readonly batchSize: number;
  private readonly sampleEvery: number;
  private readonly logLimit: number;
  private readonly now: () => number;

  private readonly tasks: Task[] = [];
  private readonly queue: Task[] = [];
  private readonly vars = new Map<string, number>();
  private readonly events = new Set<string>();
  private readonly snapshots = new Map<string, ProcSnapshot>();
  private readonly samples: BuddySample[] = [];
  private readonly failures: ExpectationResult[] = [];
  private readonly finalResults: ExpectationResult[] = [];
  private readonly cpuAsid: number[];
  private rounds = 0;
  private unitsDone = 0;
  private readonly unitsTotal: number;
  private syscallCount = 0;
  private cr3Switches = 0;
  private peakPageTables = 0;
  private peak: { free: number; label: string; map: PhysMemoryMap } | null = null;
  private bootFree: number | null = null;

  constructor(
    private readonly workload: Workload,
    private readonly stack: Stack,
    private readonly options: RunOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.recorder = new BoundaryRecorder(this.now);
    this.vma = this.recorder.wrap('orchestrator→vma-manager', stack.vma);
    this.mmu = this.recorder.wrap('orchestrator→mmu', stack.mmu);
    this.pages = this.recorder.wrap('orchestrator→page-allocator', stack.pages);
    this.devices = this.recorder.wrap('orchestrator→device-drivers', stack.devices);
    this.seed = options.seed ?? workload.seed;
    this.batchSize = options.batchSize ?? 256;
    this.sampleEvery = options.sampleEvery ?? 8;
    this.logLimit = options.logLimit ?? 200;
    this.cpuAsid = new Array<number>(workload.machine.cpus).fill(-1);
    this.unitsTotal = countUnits(workload);
  }

  async run(): Promise<RunReport> {
    const start = this.now();
    const before = await this.snapshot('boot');
    const ptBefore = await this.mmu.pageTablePages();
    this.peakPageTables = ptBefore;
    await this.sample('boot');
    for (const module of this.workload.modules) {
      const r = await this.devices.loadModule(module);
      if ('errno' in r) this.fail(null, this.workload.source, `insmod ${module}`, `failed with ${r.errno}`);
    }
    for (const spec of this.workload.processes) {
      const handle = await this.vma.createProcess(spec.name);
      this.addTask(new Task(spec.name, handle.pid, handle.asid, spec.ops, null));
    }

    while (this.tasks.some((t) => t.state !== 'done')) {
      const assigned: { cpu: number; task: Task }[] = [];
      for (let cpu = 0; cpu < this.cpuAsid.length && this.queue.length > 0; cpu++) {
        assigned.push({ cpu, task: this.queue.shift() as Task });
      }
      if (assigned.length === 0) {
        await this.deadlock();
        break;
      }
      const slice = async ({ cpu, task }: { cpu: number; task: Task }) => {
        if (this.cpuAsid[cpu] !== task.asid) {
          await this.mmu.switchTo(cpu, task.asid);
          this.cpuAsid[cpu] = task.asid;
          this.cr3Switches++;
        }
        await this.runSlice(task, cpu);
      };
      if (this.options.overlapCpus) await Promise.all(assigned.map(slice));
      else for (const a of assigned) await slice(a);
      for (const { task } of assigned) if (task.state === 'ready') this.queue.push(task);
      this.rounds++;
      if (this.rounds % this.sampleEvery === 0) await this.sample(`round ${this.rounds}`);
      this.options.onProgress?.(this.unitsDone, Math.max(this.unitsTotal, this.unitsDone));
    }

    for (const module of [...this.workload.modules].reverse()) await this.devices.unloadModule(module);
    await this.sample('end');
    for (const op of this.workload.final) await this.check(null, op.at, op.what);
    const after = await this.snapshot('end');
    const ptAfter = await this.mmu.pageTablePages();
    const [tlb, counters, endMap, inner] = await Promise.all([
      this.mmu.tlbStats(),
      this.pages.counters(),
      this.pages.memoryMap(),
      this.stack.innerBoundaries ? this.stack.innerBoundaries() : Promise.resolve([]),
    ]);
    return this.report(before, after, ptBefore, ptAfter, tlb, counters, endMap, inner, this.now() - start);
  }

  // --- scheduling -----------------------------------------------------------------------------

  private addTask(task: Task): void {
    this.tasks.push(task);
    this.queue.push(task);
  }

  private wake(pred: (t: Task) => boolean): void {
    for (const t of this.tasks) {
      if (t.state === 'blocked' && pred(t)) {
        t.state = 'ready';
        t.blockedOn = null;
        this.queue.push(t);
      }
    }
  }

  private async deadlock(): Promise<void> {
    for (const t of this.tasks.filter((x) => x.state === 'blocked')) {
      const on =
        t.blockedOn && 'child' in t.blockedOn
          ? `wait for ${t.blockedOn.child}`
          : `await ${t.blockedOn?.event}`;
      const op = t.current();
      this.fail(
        t,
        op?.at ?? '',
        'progress',
        `blocked forever on ${on}: every other process has finished or is blocked`,
      );
      t.exitDetail = `never finished (blocked on ${on})`;
      await this.finish(t, 0);
    }
  }

  private async runSlice(task: Task, cpu: number): Promise<void> {
    let budget = this.workload.machine.quantum;
    while (budget > 0 && task.state === 'ready') {
      try {
        if (task.cursor) {
          budget -= await this.stepAccesses(task, cpu, budget);
          continue;
        }
        const op = task.current();
        if (!op) {
          await this.finish(task, 0);
          break;
        }
        budget -= await this.step(task, op, cpu, budget);
      } catch (e) {
        if (!(e instanceof TaskFault)) throw e;
        this.fail(task, task.current()?.at ?? '', 'run', e.message);
        task.exitDetail = `stopped: ${e.message}`;
        await this.finish(task, 1);
      }
    }
  }

  /** Run the op under the program counter; returns the work units used (at least 1). */
  private async step(task: Task, op: Op, cpu: number, budget: number): Promise<number> {
    switch (op.op) {
      case 'mmap':
      case 'munmap':
      case 'mlock':
      case 'munlock':
      case 'mseal':
      case 'mprotect':
      case 'mremap':
      case 'madvise':
      case 'open':
      case 'read':
      case 'write':
      case 'close':
      case 'file':
      case 'memfd':
      case 'truncate':
        return this.syscallBatch(task, budget);
      case 'access':
      case 'touch':
      case 'pattern':
        task.cursor = this.cursorFor(task, op);
        return 0 + (await this.stepAccesses(task, cpu, budget));
      case 'fork': {
        const r = await this.vma.fork(task.pid, op.child.name);
        this.countSyscall(task, 'fork', 'errno' in r ? r.errno : null);
        this.log(task, op.at, `fork()`, 'errno' in r ? `= -1 ${r.errno}` : `= ${r.pid}`);
        this.checkSyscall(task, op.at, 'fork', op.expect, 'errno' in r ? r : { ret: r.pid });
        if (!('errno' in r)) {
          const child = new Task(op.child.name, r.pid, r.asid, op.child.ops, task, task.fds);
          task.children.set(op.child.name, child);
          this.addTask(child);
        }
        this.advanceOp(task);
        return 1;
      }
      case 'wait': {
        const child = task.children.get(op.child);
        if (!child) throw new TaskFault(`wait: ${op.child} was not forked (its fork failed?)`);
        if (child.state !== 'done') {
          task.state = 'blocked';
          task.blockedOn = { child: op.child };
          return 1;
        }
        if (op.status !== undefined) {
          const ok = child.exitStatus === op.status;
          this.expectation(
            task,
            result(op.at, `wait ${op.child} status ${op.status}`, ok, `status ${child.exitStatus}`),
          );
        }
        this.advanceOp(task);
        return 1;
      }
      case 'exit':
        this.advanceOp(task);
        await this.finish(task, op.code);
        return 1;
      case 'post':
        this.events.add(op.event);
        this.wake((t) => t.blockedOn !== null && 'event' in t.blockedOn && t.blockedOn.event === op.event);
        this.advanceOp(task);
        return 1;
      case 'await':
        if (!this.events.has(op.event)) {
          task.state = 'blocked';
          task.blockedOn = { event: op.event };
          return 1;
        }
        this.advanceOp(task);
        return 1;
      case 'proc': {
        const text = await this.vma.proc(task.pid, op.file);
        if (text !== null && op.file === 'maps') task.noteMaps(parseMaps(text), op.at);
        if (text === null) throw new TaskFault(`proc: no file ${op.file}`);
        if (op.save) {
          const n = firstInteger(text);
          if (n === null) throw new TaskFault(`proc: no number in ${op.file}: ${JSON.stringify(text)}`);
          this.vars.set(op.save, n);
        }
        this.advanceOp(task);
        return 1;
      }
      case 'pfn': {
        const va = this.resolve(op.addr);
        const [entry] = await this.vma.pagemap(task.pid, va, 1);
        if (!entry?.present || entry.pfn === null)
          throw new TaskFault(`pfn: nothing is mapped at ${formatVa48(va)}`);
        this.vars.set(op.save, entry.pfn);
        this.advanceOp(task);
        return 1;
      }
      case 'snapshot':
        await this.snapshot(op.name);
        await this.sample(op.name);
        this.advanceOp(task);
        return 1;
      case 'mknod':
      case 'unlink': {
        const r =
          op.op === 'mknod'
            ? await this.devices.mknod(op.path, op.major, op.minor)
            : await this.devices.unlink(op.path);
        this.log(
          task,
          op.at,
          op.op === 'mknod' ? `mknod("${op.path}", ${op.major}, ${op.minor})` : `unlink("${op.path}")`,
          'errno' in r ? `= -1 ${r.errno}` : '= 0',
        );
        this.checkSyscall(task, op.at, op.op, op.expect, r);
        this.advanceOp(task);
        return 1;
      }
      case 'insmod':
      case 'rmmod': {
        const r =
          op.op === 'insmod'
            ? await this.devices.loadModule(op.name)
            : await this.devices.unloadModule(op.name);
        this.checkSyscall(task, op.at, op.op, undefined, r);
        this.advanceOp(task);
        return 1;
      }
      case 'expect':
        if (op.what.kind === 'bytes') {
          task.cursor = this.cursorFor(task, op);
          return this.stepAccesses(task, cpu, budget);
        }
        await this.check(task, op.at, op.what);
        this.advanceOp(task);
        return 1;
      case 'repeat':
        throw new Error('repeat is entered by Task.current()');
    }
  }

  /** Past a non-syscall, non-access op: one work unit. */
  private advanceOp(task: Task): void {
    task.advance();
    this.unitsDone++;
  }

  private async finish(task: Task, code: number | SignalName): Promise<void> {
    if (task.state === 'done') return;
    const maps = await this.vma.proc(task.pid, 'maps');
    if (maps !== null) task.noteMaps(parseMaps(maps), 'exit');
    // like exit() on Linux: the CPUs leave the mm (switch_mm to init_mm) before it is torn down
    for (let cpu = 0; cpu < this.cpuAsid.length; cpu++) {
      if (this.cpuAsid[cpu] !== task.asid) continue;
      await this.mmu.idle(cpu);
      this.cpuAsid[cpu] = -1;
    }
    await this.vma.exit(task.pid);
    task.state = 'done';
    task.cursor = null;
    task.exitStatus = code;
    if (!task.exitDetail) task.exitDetail = typeof code === 'number' ? `exited ${code}` : `killed by ${code}`;
    this.wake(
      (t) => t.blockedOn !== null && 'child' in t.blockedOn && t.children.get(t.blockedOn.child) === task,
    );
  }

  // --- syscalls -------------------------------------------------------------------------------

  private resolve(addr: Addr): number {
    if (typeof addr === 'number') return addr;
    const base = this.vars.get(addr.var);
    if (base === undefined)
      throw new TaskFault(`$${addr.var} has no value yet (its op failed or has not run)`);
    return base + addr.offset;
  }

  private fd(task: Task, name: string): number {
    const fd = task.fds.get(name);
    if (fd === undefined) throw new TaskFault(`fd "${name}" is not open in ${task.name}`);
    return fd;
  }

  private toSyscall(task: Task, op: Op): Syscall {
    return toSyscall(
      op,
      (addr) => this.resolve(addr),
      (name) => this.fd(task, name),
    );
  }

  /** Consecutive syscall ops go in one call, up to the budget or an op that saves a value. */
  private async syscallBatch(task: Task, budget: number): Promise<number> {
    const ops: Op[] = [];
    let op: Op | null = task.current();
    while (op && isSyscallOp(op) && ops.length < budget) {
      ops.push(op);
      if (savesValue(op)) break;
      op = task.peekAfter(ops.length);
    }
    const calls = ops.map((o) => this.toSyscall(task, o));
    const results = await this.vma.syscalls(task.pid, calls);
    this.syscallCount += calls.length;
    this.unitsDone += calls.length;
    ops.forEach((o, i) => this.afterSyscall(task, o, calls[i], results[i]));
    for (let i = 0; i < ops.length; i++) task.advance();
    return ops.length;
  }

  private afterSyscall(task: Task, op: Op, call: Syscall, r: SyscallResult): void {
    const errno = 'errno' in r ? r.errno : null;
    this.countSyscall(task, call.call, errno);
    this.log(
      task,
      op.at,
      formatCall(call),
      errno ? `= -1 ${errno}` : `= ${formatRet(call, (r as { ret: number }).ret)}`,
    );
    const expect = 'expect' in op ? (op.expect as SyscallExpect | undefined) : undefined;
    this.checkSyscall(task, op.at, call.call, expect, r);
    if (errno) return;
    const ret = (r as { ret: number }).ret;
    if ((op.op === 'mmap' || op.op === 'mremap') && op.save) this.vars.set(op.save, ret);
    if (op.op === 'open') task.fds.set(op.save, ret);
    if (op.op === 'file' || op.op === 'memfd') task.fds.set(op.name, ret);
    if (op.op === 'close') task.fds.delete(op.fd);
    if (op.op === 'read' && op.pagePattern !== undefined) {
      const data = (r as { data?: Uint8Array }).data ?? new Uint8Array(0);
      const bad: number[] = [];
      const n = op.pagePattern.length / 2;
      for (let p = 0; p * PAGE_SIZE < data.length; p++)
        if (bytesToHex(data.subarray(p * PAGE_SIZE, p * PAGE_SIZE + n)) !== op.pagePattern) bad.push(p);
      this.expectation(
        task,
        result(
          op.at,
          `read data starts every page with ${op.pagePattern}`,
          bad.length === 0 && data.length > 0,
          bad.length
            ? `pages ${bad.slice(0, 8).join(', ')} differ`
            : `${Math.ceil(data.length / PAGE_SIZE)} pages matched`,
        ),
      );
    }
  }

  private checkSyscall(
    task: Task,
    at: string,
    call: string,
    expect: SyscallExpect | undefined,
    r: SyscallResult,
  ): void {
    const errno = 'errno' in r ? r.errno : null;
    const wantErrno = expect?.errno === undefined ? null : expect.errno;
    if (wantErrno !== '*' && errno !== wantErrno) {
      this.expectation(
        task,
        result(
          at,
          `${call} ${wantErrno ? `fails with ${wantErrno}` : 'succeeds'}`,
          false,
          errno ? `failed with ${errno}` : `returned ${(r as { ret: number }).ret}`,
        ),
      );
      return;
    }
    if (expect?.ret !== undefined && !errno) {
      const want = this.resolve(expect.ret);
      const got = (r as { ret: number }).ret;
      this.expectation(task, result(at, `${call} returns ${want}`, got === want, `returned ${got}`));
      return;
    }
    if (expect) this.expectation(task, result(at, `${call} ${wantErrno ?? 'succeeds'}`, true, errno ?? 'ok'));
  }

  private countSyscall(task: Task, call: string, errno: string | null): void {
    let c = task.syscallCounts.get(call);
    if (!c) task.syscallCounts.set(call, (c = { calls: 0, errors: new Map() }));
    c.calls++;
    if (errno) c.errors.set(errno, (c.errors.get(errno) ?? 0) + 1);
  }

  private log(task: Task, at: string, call: string, res: string): void {
    if (task.log.length < this.logLimit) task.log.push({ at, call, result: res });
    else task.logDropped++;
  }

  // --- accesses and faults --------------------------------------------------------------------

  private cursorFor(task: Task, op: Op): AccessCursor {
    return makeCursor(
      op,
      (addr) => this.resolve(addr),
      (p) => {
        const run = task.patternRuns.get(p.at) ?? 0;
        task.patternRuns.set(p.at, run + 1);
        return p.seed ?? deriveSeed(this.seed, task.name, p.at, run);
      },
    );
  }

  /** One access batch of the cursor; returns the work units used (at least 1). */
  private async stepAccesses(task: Task, cpu: number, budget: number): Promise<number> {
    const c = task.cursor as AccessCursor;
    const n = Math.min(Math.max(1, budget), this.batchSize, c.vas.length - c.next);
    const batch: UserAccess[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const write = c.writes ? c.writes[c.next + i] === 1 : c.kind === 'write';
      batch[i] = write
        ? { va: c.vas[c.next + i], op: 'write', data: c.data }
        : { va: c.vas[c.next + i], op: c.kind === 'fetch' ? 'fetch' : 'read', length: c.length };
    }
    const res = n > 0 ? await this.mmu.accessBatch(cpu, batch) : { done: [] };
    if (c.reads) res.done.forEach((d, i) => ((c.reads as (Uint8Array | undefined)[])[c.next + i] = d.data));
    c.next += res.done.length;
    task.accesses += res.done.length;
    this.unitsDone += res.done.length;
    let used = res.done.length;
    if (res.fault) {
      used++;
      if (res.fault.kind === 'general-protection') {
        c.signal = { name: 'SIGSEGV', code: 'SI_KERNEL', address: null, index: c.next };
      } else {
        const { address, errorCode } = res.fault;
        const again = c.lastFault && c.lastFault.index === c.next && c.lastFault.address === address;
        if (again && (c.lastFault as { errorCode: number }).errorCode === errorCode) {
          // The handler said it fixed this fault, yet the retried access takes the same one: on
          // a real machine the CPU would loop; here the process gets SIGSEGV and the report says why.
          c.signal = { name: 'SIGSEGV', code: 'unresolved fault', address, index: c.next };
        } else if (again && (c.lastFault as { count: number }).count >= MAX_FAULTS_PER_ACCESS) {
          c.signal = { name: 'SIGSEGV', code: 'unresolved fault', address, index: c.next };
        } else {
          const [outcome] = await this.vma.handleFaults(task.pid, [{ address, errorCode, cpu }]);
          this.onFaultOutcome(task, c, outcome, address, errorCode);
        }
      }
    }
    if (c.signal || c.next >= c.vas.length) await this.endCursor(task, c);
    return Math.max(1, used);
  }

  private onFaultOutcome(
    task: Task,
    c: AccessCursor,
    outcome: FaultOutcome,
    address: number,
    errorCode: number,
  ): void {
    if (outcome.kind === 'handled') {
      c.faults++;
      const count = c.lastFault && c.lastFault.index === c.next ? c.lastFault.count + 1 : 1;
      c.lastFault = { index: c.next, address, errorCode, count };
      task.faults++;
      task.faultTypes.set(outcome.type, (task.faultTypes.get(outcome.type) ?? 0) + 1);
      const cause = faultCause(errorCode);
      task.faultCauses.set(cause, (task.faultCauses.get(cause) ?? 0) + 1);
      return;
    }
    c.signal = {
      name: outcome.kind === 'sigsegv' ? 'SIGSEGV' : 'SIGBUS',
      code: outcome.code,
      address,
      index: c.next,
    };
  }

  private async endCursor(task: Task, c: AccessCursor): Promise<void> {
    task.cursor = null;
    const op = c.op;
    const at = op.at;
    const expect = op.op === 'access' || op.op === 'touch' || op.op === 'pattern' ? op.expect : undefined;
    const sig = c.signal;
    const wanted = expect?.signal;
    const expected =
      sig !== null && wanted !== undefined && wanted !== null && (wanted === '*' || wanted === sig.name);
    if (sig) {
      task.signals.push({
        signal: sig.name,
        code: sig.code,
        address: sig.address === null ? null : formatVa48(sig.address),
        at,
        expected,
      });
    }
    if (sig && !expected) {
      this.fail(
        task,
        at,
        `${op.op} without a fatal signal`,
        `${sig.name} (${sig.code}) at ${sig.address === null ? '#GP' : formatVa48(sig.address)}, access ${sig.index}`,
      );
      task.exitDetail = `killed by ${sig.name} (${sig.code} at ${sig.address === null ? '#GP' : formatVa48(sig.address)})`;
      await this.finish(task, sig.name);
      return;
    }
    for (const r of cursorResults(c, task.output)) this.expectation(task, r);
    task.advance();
  }

  // --- expectations ---------------------------------------------------------------------------

  /** A standalone check, of a process (`task`) or of the machine after the run (null). */
  private async check(task: Task | null, at: string, e: Expectation): Promise<void> {
    const what = describeExpectation(e);
    const done = (r: { ok: boolean; detail: string }) => {
      const res = result(at, what, r.ok, r.detail);
      if (task) this.expectation(task, res);
      else {
        this.finalResults.push(res);
        if (!r.ok) this.failures.push({ ...res, what: `final: ${what}` });
      }
    };
    if (e.kind === 'buddyinfo') return done(checkBuddyinfo(e, await this.pages.buddyinfo(), this.snapshots));
    if (e.kind === 'meminfo') return done(checkMeminfo(e, await this.pages.meminfo(), this.snapshots));
    if (!task) throw new Error(`a ${e.kind} check needs a process`);
    return done(
      await checkProcess(e, task, at, {
        vma: this.vma,
        pages: this.pages,
        vars: this.vars,
        resolve: (a: Addr) => this.resolve(a),
      }),
    );
  }

  private expectation(task: Task, r: ExpectationResult): void {
    task.expectations.push(r);
    if (!r.ok) this.failures.push({ ...r, what: `${task.name}: ${r.what}` });
  }

  private fail(task: Task | null, at: string, what: string, detail: string): void {
    const r = result(at, what, false, detail);
    if (task) this.expectation(task, r);
    else this.failures.push(r);
  }

  // --- machine state --------------------------------------------------------------------------

  private async snapshot(label: string): Promise<ProcSnapshot> {
    const [buddyinfo, meminfo] = await Promise.all([this.pages.buddyinfo(), this.pages.meminfo()]);
    const snap = { label, buddyinfo, meminfo };
    this.snapshots.set(label, snap);
    return snap;
  }

  private async sample(label: string): Promise<void> {
    const text = await this.pages.buddyinfo();
    const zones = parseBuddyinfo(text);
    this.samples.push({
      label,
      round: this.rounds,
      zones: zones.map((z) => ({ zone: z.zone, free: z.free })),
    });
    const free = buddyFreePages(zones);
    // The map of every PFN is a big answer: fetch it again only when free memory has dropped by
    // at least 1% of the boot figure below the last map taken.
    const step = Math.max(1, Math.floor((this.bootFree ?? free) / 100));
    if (this.bootFree === null) this.bootFree = free;
    if (!this.peak || free <= this.peak.free - step)
      this.peak = { free, label, map: await this.pages.memoryMap() };
    const pt = await this.mmu.pageTablePages();
    if (pt > this.peakPageTables) this.peakPageTables = pt;
  }

  private report(
    before: ProcSnapshot,
    after: ProcSnapshot,
    ptBefore: number,
    ptAfter: number,
    tlb: Awaited<ReturnType<MmuPort['tlbStats']>>,
    counters: AllocatorCounters,
    endMap: PhysMemoryMap,
    inner: RunReport['boundaries'],
    durationMs: number,
  ): RunReport {
    const processes = this.tasks.map(processReport);
    const peak = this.peak ?? { label: 'end', map: endMap, free: 0 };
    return {
      workload: {
        name: this.workload.name,
        description: this.workload.description,
        source: this.workload.source,
        seed: this.seed,
      },
      machine: this.workload.machine,
      transport: this.stack.transport,
      ok: this.failures.length === 0,
      failures: this.failures,
      final: this.finalResults,
      processes,
      before,
      after,
      pageTablePages: { before: ptBefore, after: ptAfter, peak: Math.max(this.peakPageTables, ptAfter) },
      tlb: tlb.map((x) => ({ ...x, hitRate: x.hits + x.misses === 0 ? 0 : x.hits / (x.hits + x.misses) })),
      allocations: { byOrder: counters.allocationsByOrder, pagesByZone: counters.pagesAllocatedByZone },
      buddySeries: this.samples,
      memoryMap: { peak: { ...peak.map, label: peak.label }, end: endMap },
      boundaries: [...this.recorder.figures(), ...inner],
      totals: {
        rounds: this.rounds,
        syscalls: this.syscallCount,
        accesses: this.tasks.reduce((s, t) => s + t.accesses, 0),
        faults: this.tasks.reduce((s, t) => s + t.faults, 0),
        cr3Switches: this.cr3Switches,
        durationMs,
      },
    };
  }
}

/** x86 error code bits (arch/x86/include/asm/trap_pf.h): PROT 0x1, WRITE 0x2, INSTR 0x10. */
const PF_PROT = 0x1;
const PF_WRITE = 0x2;
const PF_INSTR = 0x10;

/** `read, not present`, `write, protection`, `fetch, not present`, ... from a #PF error code. */
export function faultCause(errorCode: number): string {
  const op = errorCode & PF_INSTR ? 'fetch' : errorCode & PF_WRITE ? 'write' : 'read';
  return `${op}, ${errorCode & PF_PROT ? 'protection' : 'not present'}`;
}
