import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkloadError } from './errors';
import { loadWorkloadData, loadWorkloadText } from './load-workload';
import workloadSchema from './workload.schema.json';

const VALID = `name: small
description: one process writes 4 pages
seed: 7
machine: { arch: x86_64, memory: 16M, cpus: 2 }
processes:
  - name: p
    ops:
      - mmap: { addr: "0x7e0000000000", length: 4p, prot: rw-, flags: private|anonymous|fixed_noreplace, save: buf }
      - touch: { addr: $buf, length: 16K, kind: write, value: 7 }
      - access: { addr: "$buf+4K", kind: read, expect: { bytes: "07" } }
      - mprotect: { addr: $buf, length: 4K, prot: r-- }
      - access: { addr: $buf, kind: write, expect: { signal: SIGSEGV, code: SEGV_ACCERR } }
      - munmap: { addr: 0x7e0000010000, length: 4K }
      - mmap: { addr: 0, length: 10M, prot: 3, flags: 0x22, expect: { errno: null } }
      - expect:
          maps: { contains: ["7e0000000000-7e0000001000 r--p 00000000 00:00 0 "] }
          counters: { faults: 4 }
`;

function problemsOf(text: string): string[] {
  try {
    loadWorkloadText(text, 'w.yaml');
  } catch (e) {
    if (e instanceof WorkloadError) return e.message.split('\n');
    throw e;
  }
  throw new Error('loaded without a problem');
}

describe('loadWorkloadText', () => {
  it('builds the model with sizes, prot, flags and variables resolved', () => {
    const w = loadWorkloadText(VALID, 'w.yaml');
    expect(w.seed).toBe(7);
    expect(w.machine).toEqual({ arch: 'x86_64', memory: 16 << 20, cpus: 2, tlbEntries: 64, quantum: 16 });
    const [mmap, touch, read, , fault, munmap, mmap2, maps, counters] = w.processes[0].ops;
    expect(mmap).toMatchObject({
      op: 'mmap',
      addr: 0x7e0000000000,
      length: 16384,
      prot: 3,
      flags: 0x100022,
      fd: null,
      save: 'buf',
    });
    expect(mmap.at).toBe('w.yaml:8:9');
    expect(touch).toMatchObject({
      op: 'touch',
      addr: { var: 'buf', offset: 0 },
      length: 16384,
      kind: 'write',
      value: 7,
      stride: 4096,
    });
    expect(read).toMatchObject({ op: 'access', addr: { var: 'buf', offset: 4096 }, expect: { bytes: '07' } });
    expect(fault).toMatchObject({ expect: { signal: 'SIGSEGV', code: 'SEGV_ACCERR' } });
    expect(munmap).toMatchObject({ op: 'munmap', addr: 0x7e0000010000, length: 4096 });
    expect(mmap2).toMatchObject({
      op: 'mmap',
      addr: 0,
      length: 10 << 20,
      prot: 3,
      flags: 0x22,
      expect: { errno: null },
    });
    expect(maps).toMatchObject({ op: 'expect', what: { kind: 'maps' } });
    expect(counters).toMatchObject({ op: 'expect', what: { kind: 'counters', values: { faults: 4 } } });
  });

  it('reads JSON too, with positions', () => {
    const json = JSON.stringify(
      { name: 'j', processes: [{ name: 'p', ops: [{ touch: { addr: 4096, length: '4K', kind: 'x' } }] }] },
      null,
      2,
    );
    expect(problemsOf(json)).toEqual([
      'w.yaml:11:21: processes[0].ops[0].touch.kind: "x" is not one of: read, write',
    ]);
  });

  it('names the line, column and field of a bad size', () => {
    const bad = VALID.replace('length: 16K', 'length: 16Q');
    expect(problemsOf(bad)).toEqual([
      'w.yaml:9:38: processes[0].ops[1].touch.length: "16Q" is not a size (4096, "0x1000", "4K", "10M", "16p")',
    ]);
  });

  it('points at an unknown field and lists the known ones', () => {
    const bad = VALID.replace('touch: { addr: $buf, length: 16K', 'touch: { addr: $buf, lenght: 16K');
    const problems = problemsOf(bad);
    expect(problems).toContain(
      "w.yaml:9:30: processes[0].ops[1].touch.lenght: unknown field 'lenght' (expected one of: addr, length, kind, value, stride, expect)",
    );
  });

  it('points at an unknown operation', () => {
    const bad = VALID.replace('- munmap:', '- munmapp:');
    expect(problemsOf(bad)[0]).toMatch(
      /^w\.yaml:13:9: processes\[0\]\.ops\[5\]\.munmapp: unknown field 'munmapp' \(expected one of: mmap, munmap,/,
    );
  });

  it('reports a missing required field at its map', () => {
    const bad = VALID.replace('prot: r-- }', '}').replace(
      'mprotect: { addr: $buf, length: 4K, }',
      'mprotect: { addr: $buf, length: 4K }',
    );
    expect(problemsOf(bad)).toEqual([
      "w.yaml:11:19: processes[0].ops[3].mprotect: missing required field 'prot'",
    ]);
  });

  it('rejects an unknown variable, a non-canonical address and an unknown errno', () => {
    const bad = VALID.replace('addr: "$buf+4K"', 'addr: "$bfu+4K"')
      .replace('addr: 0x7e0000010000', 'addr: "0x8000000000000000"')
      .replace('errno: null', 'errno: ENOPE');
    expect(problemsOf(bad)).toEqual([
      "w.yaml:10:25: processes[0].ops[2].access.addr: variable $bfu is never saved (by a 'save' of mmap, mremap or proc)",
      'w.yaml:13:25: processes[0].ops[5].munmap.addr: 0x8000000000000000 is not a canonical x86-64 address',
      'w.yaml:14:78: processes[0].ops[6].mmap.expect.errno: unknown errno "ENOPE"',
    ]);
  });

  it('refuses a machine the page allocator cannot boot', () => {
    expect(problemsOf(VALID.replace('memory: 16M', 'memory: 8M'))).toEqual([
      'w.yaml:4:34: machine.memory: 8388608 bytes: must be a whole number of pages from 16M to 64G',
    ]);
  });

  it('refuses a TLB geometry the mmu cannot build', () => {
    expect(problemsOf(VALID.replace('cpus: 2 }', 'cpus: 2, tlbEntries: 48 }'))).toEqual([
      'w.yaml:4:60: machine.tlbEntries: 48: must be 4 ways times a power of two (4, 8, 16, ... 64, ...)',
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    expect(problemsOf('name: x\nprocesses: [\n')[0]).toMatch(/^w\.yaml:3:1: /);
  });

  it('rejects a wait for a child that was never forked, and duplicate process names', () => {
    const text = `name: f
processes:
  - name: p
    ops:
      - fork: { name: p, ops: [] }
      - wait: { child: q }
`;
    expect(problemsOf(text)).toEqual([
      'w.yaml:5:23: processes[0].ops[0].fork.name: process name "p" is already used at processes[0].name',
      'w.yaml:6:24: processes[0].ops[1].wait.child: "q" is not a child forked earlier by this process',
    ]);
  });
});

describe('the README', () => {
  it('documents every operation of the schema', () => {
    const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
    const ops = Object.keys(
      (workloadSchema as { definitions: { op: { properties: Record<string, unknown> } } }).definitions.op
        .properties,
    );
    const undocumented = ops.filter((op) => !new RegExp(`^\\|[^|\\n]*\`${op}\``, 'm').test(readme));
    expect(undocumented).toEqual([]);
  });
});

describe('loadWorkloadData', () => {
  it('names the field of a bad built-in (no lines to point at)', () => {
    expect(() =>
      loadWorkloadData(
        {
          name: 'b',
          processes: [{ name: 'p', ops: [{ touch: { addr: '$x', length: '1p', kind: 'read' } }] }],
        },
        'builtin:b',
      ),
    ).toThrow(
      "builtin:b: processes[0].ops[0].touch.addr: variable $x is never saved (by a 'save' of mmap, mremap or proc)",
    );
  });
});
