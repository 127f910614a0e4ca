/**
 * Loadable modules: a catalog of the drivers this layer can load (the .ko files on disk), their
 * parameters, init and exit, and module reference counts (kernel/module/main.c).
 */
import type { MachineArch } from '@pagemesh/mmu';
import type { Errno } from '@pagemesh/uapi';

import type { CharDevices } from './driver-model';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from './errors';
import type { DriverPorts } from './ports';
import type { ProcEntries } from './proc-entry';

/** What a module's code may use: the lower layers through ports, and the kernel's tables. */
export interface KernelServices {
  readonly ports: DriverPorts;
  readonly arch: MachineArch;
  readonly chrdev: CharDevices;
  readonly proc: ProcEntries;
  printk(line: string): void;
}

/** The memory a driver owns, as it sees it (the service's "driver's view"). */
export interface DriverMemory {
  readonly source: 'kmalloc' | 'vmalloc' | 'alloc_pages';
  /** What the allocator returned: kmalloc_ptr, vmalloc_area, or the first PFN for alloc_pages. */
  readonly allocation: number;
  /** kmalloc: the size asked for; vmalloc: the size; alloc_pages: the order. */
  readonly allocationArg: number;
  /** The kernel address of the area the driver uses (kmalloc_area, vmalloc_area, page_address); null for highmem pages. */
  readonly kaddr: number | null;
  /** The pages of the area, in order (what mmap maps). */
  readonly pfns: readonly number[];
}

/** A loaded (or loading) module: the state its init builds and its exit undoes. */
export interface ModuleInstance {
  /** module_init: 0 or the errno insmod reports (then init has undone what it did). */
  init(k: KernelServices): Promise<Errno | null>;
  /** module_exit: undoes everything init did. */
  exit(k: KernelServices): Promise<void>;
  memory(): DriverMemory | null;
}

export interface ModuleParamSpec {
  readonly name: string;
  readonly description: string;
  readonly defaultValue: string;
}

/** A module that can be loaded: its name, parameters, and how to make an instance from them. */
export interface ModuleDefinition {
  readonly name: string;
  readonly description: string;
  readonly params: readonly ModuleParamSpec[];
  /** Parses the parameters (EINVAL for a value that does not parse, as parse_args) and makes the module. */
  instantiate(params: Readonly<Record<string, string>>): ModuleInstance | { readonly errno: Errno };
}

export interface ModuleInfo {
  readonly name: string;
  readonly description: string;
  readonly loaded: boolean;
  /** module_refcount(): open files of its devices (0 when not loaded). */
  readonly refcount: number;
  readonly params: readonly ModuleParamSpec[];
}

interface Loaded {
  readonly def: ModuleDefinition;
  readonly instance: ModuleInstance;
  refcount: number;
}

export class Modules {
  private readonly catalog = new Map<string, ModuleDefinition>();
  private readonly loaded = new Map<string, Loaded>();

  constructor(definitions: readonly ModuleDefinition[]) {
    for (const d of definitions) this.define(d);
  }

  define(def: ModuleDefinition): void {
    if (this.catalog.has(def.name))
      throw new AlreadyExistsError('name', def.name, 'a module of this name is already in the catalog');
    this.catalog.set(def.name, def);
  }

  definition(name: string): ModuleDefinition {
    const d = this.catalog.get(name);
    if (!d)
      throw new NotFoundError('name', name, `no such module (have: ${[...this.catalog.keys()].join(', ')})`);
    return d;
  }

  list(): ModuleInfo[] {
    return [...this.catalog.values()].map((d) => {
      const l = this.loaded.get(d.name);
      return {
        name: d.name,
        description: d.description,
        loaded: l !== undefined,
        refcount: l?.refcount ?? 0,
        params: d.params,
      };
    });
  }

  isLoaded(name: string): boolean {
    return this.loaded.has(name);
  }

  instance(name: string): ModuleInstance | null {
    return this.loaded.get(name)?.instance ?? null;
  }

  /**
   * init_module/finit_module: EEXIST when loaded, the parameter errno, or init's errno (then the
   * module is not loaded). Unknown parameters are ignored with a warning, as parse_args does for
   * modules.
   */
  async load(
    name: string,
    params: Readonly<Record<string, string>>,
    k: KernelServices,
  ): Promise<Errno | null> {
    const def = this.definition(name);
    if (typeof params !== 'object' || params === null)
      throw new InvalidArgumentError('params', params, 'must be an object of name=value strings');
    for (const [p, v] of Object.entries(params)) {
      if (typeof v !== 'string') throw new InvalidArgumentError(`params.${p}`, v, 'must be a string');
    }
    if (this.loaded.has(name)) return 'EEXIST';
    for (const p of Object.keys(params)) {
      if (!def.params.some((s) => s.name === p)) k.printk(`${name}: unknown parameter '${p}' ignored`);
    }
    const made = def.instantiate(params);
    if ('errno' in made) return made.errno;
    const err = await made.init(k);
    if (err !== null) return err;
    this.loaded.set(name, { def, instance: made, refcount: 0 });
    return null;
  }

  /** delete_module: ENOENT when not loaded, EAGAIN (EWOULDBLOCK) while referenced, else exit. */
  async unload(name: string, k: KernelServices): Promise<Errno | null> {
    this.definition(name);
    const l = this.loaded.get(name);
    if (!l) return 'ENOENT';
    if (l.refcount > 0) return 'EAGAIN';
    this.loaded.delete(name);
    await l.instance.exit(k);
    return null;
  }

  /** try_module_get: false when the module is not live. */
  get(name: string): boolean {
    const l = this.loaded.get(name);
    if (!l) return false;
    l.refcount++;
    return true;
  }

  /** module_put */
  put(name: string): void {
    const l = this.loaded.get(name);
    if (l && l.refcount > 0) l.refcount--;
  }
}

/** Parses an integer module parameter (param_set_int's kstrtoint: decimal, 0x hex, leading 0 octal). */
export function parseIntParam(value: string): number | null {
  const m = /^([+-]?)(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)$/i.exec(value.trim());
  if (!m) return null;
  const digits = m[2];
  const n = /^0x/i.test(digits)
    ? parseInt(digits.slice(2), 16)
    : digits.length > 1 && digits.startsWith('0')
      ? parseInt(digits, 8)
      : parseInt(digits, 10);
  const signed = m[1] === '-' ? -n : n;
  return signed >= -(2 ** 31) && signed < 2 ** 31 ? signed : null;
}
