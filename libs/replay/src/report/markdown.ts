import type { RunReport } from './model';

/** File names of the pictures, relative to the Markdown file; omitted pictures are not linked. */
export interface PictureLinks {
  readonly memoryMap?: string;
  readonly memoryMapPeak?: string;
  readonly buddySeries?: string;
  /** Per process name. */
  readonly vmas?: Readonly<Record<string, string>>;
}

/** A Markdown table; `|` in cells is escaped, newlines become spaces. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cell = (v: string | number) => String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (x: number) => x.toFixed(3);

/** The report as Markdown: verdict, processes, machine, boundaries, and links to the pictures. */
export function renderMarkdown(r: RunReport, pictures: PictureLinks = {}): string {
  const out: string[] = [];
  out.push(
    `# ${r.workload.name}: ${r.ok ? 'every expectation held' : `${r.failures.length} expectation(s) failed`}`,
  );
  out.push('');
  if (r.workload.description) out.push(`${r.workload.description}`, '');
  out.push(
    table(
      ['source', 'seed', 'transport', 'arch', 'memory', 'CPUs', 'quantum', 'rounds', 'duration'],
      [
        [
          r.workload.source,
          r.workload.seed,
          r.transport,
          r.machine.arch,
          `${r.machine.memory / 2 ** 20} MiB`,
          r.machine.cpus,
          r.machine.quantum,
          r.totals.rounds,
          `${Math.round(r.totals.durationMs)} ms`,
        ],
      ],
    ),
  );
  out.push('');
  if (r.failures.length > 0) {
    out.push('## Failed expectations', '');
    out.push(
      table(
        ['where', 'what', 'seen'],
        r.failures.map((f) => [f.at, f.what, f.detail]),
      ),
    );
    out.push('');
  }

  out.push('## Processes', '');
  out.push(
    table(
      ['process', 'pid', 'parent', 'exit', 'syscalls', 'accesses', 'faults', 'signals', 'expectations'],
      r.processes.map((p) => [
        p.name,
        p.pid,
        p.parent ?? '',
        p.exit,
        p.syscalls.reduce((n, s) => n + s.calls, 0),
        p.accesses,
        p.faults.total,
        p.signals.length,
        `${p.expectations.filter((e) => e.ok).length}/${p.expectations.length} met`,
      ]),
    ),
  );
  out.push('');
  for (const p of r.processes) {
    out.push(`### ${p.name}`, '');
    if (p.syscalls.length > 0) {
      out.push(
        table(
          ['syscall', 'calls', 'errors'],
          p.syscalls.map((s) => [
            s.call,
            s.calls,
            Object.entries(s.errors)
              .map(([e, n]) => `${e} ×${n}`)
              .join(', '),
          ]),
        ),
        '',
      );
    }
    const kinds = Object.entries(p.faults.byType);
    // a handler that only says "handled" tells nothing the total does not
    if (kinds.length > 0 && !(kinds.length === 1 && kinds[0][0] === 'handled'))
      out.push(table(['fault (handler)', 'count'], kinds), '');
    const causes = Object.entries(p.faults.byCause);
    if (causes.length > 0) out.push(table(['fault (CPU)', 'count'], causes), '');
    if (p.signals.length > 0) {
      out.push(
        table(
          ['signal', 'code', 'address', 'where', 'expected'],
          p.signals.map((s) => [s.signal, s.code, s.address ?? '#GP', s.at, s.expected ? 'yes' : 'no']),
        ),
        '',
      );
    }
    if (p.expectations.length > 0) {
      out.push(
        table(
          ['where', 'expectation', 'result', 'seen'],
          p.expectations.map((e) => [e.at, e.what, e.ok ? 'met' : 'FAILED', e.detail]),
        ),
        '',
      );
    }
    if (p.output.length > 0) out.push('Output:', '', '```', ...p.output, '```', '');
    if (p.log.length > 0) {
      out.push('<details><summary>syscall log</summary>', '', '```');
      for (const l of p.log) out.push(`${l.call} ${l.result}`);
      if (p.logTruncated > 0) out.push(`... ${p.logTruncated} more`);
      out.push('```', '', '</details>', '');
    }
    const pic = pictures.vmas?.[p.name];
    if (pic) out.push(`![VMAs of ${p.name}](${pic})`, '');
  }

  out.push('## Machine', '');
  out.push(
    table(
      ['', 'before', 'after'],
      [
        [
          'page-table pages',
          r.pageTablePages.before,
          `${r.pageTablePages.after} (peak ${r.pageTablePages.peak})`,
        ],
        ...meminfoRows(r.before.meminfo, r.after.meminfo),
      ],
    ),
  );
  out.push('');
  out.push(
    '/proc/buddyinfo before and after:',
    '',
    '```',
    r.before.buddyinfo.trimEnd(),
    '---',
    r.after.buddyinfo.trimEnd(),
    '```',
    '',
  );
  if (r.final.length > 0) {
    out.push(
      table(
        ['final check', 'result', 'seen'],
        r.final.map((e) => [e.what, e.ok ? 'met' : 'FAILED', e.detail]),
      ),
      '',
    );
  }
  out.push(
    table(
      ['CPU', 'TLB hits', 'misses', 'hit rate'],
      r.tlb.map((t) => [t.cpu, t.hits, t.misses, pct(t.hitRate)]),
    ),
    '',
  );
  if (r.allocations.byOrder.length > 0) {
    out.push(
      table(
        ['allocations', ...r.allocations.byOrder.map((_, o) => `order ${o}`)],
        [['count', ...r.allocations.byOrder]],
      ),
      '',
    );
  }
  const zones = Object.entries(r.allocations.pagesByZone);
  if (zones.length > 0) out.push(table(['zone', 'pages allocated'], zones), '');
  if (pictures.memoryMapPeak)
    out.push(`![physical memory at ${r.memoryMap.peak.label}](${pictures.memoryMapPeak})`, '');
  if (pictures.memoryMap) out.push(`![physical memory at the end](${pictures.memoryMap})`, '');
  if (pictures.buddySeries) out.push(`![free blocks per order over time](${pictures.buddySeries})`, '');

  out.push('## Boundaries', '');
  out.push(
    table(
      ['boundary', 'method', 'calls', 'items', 'p50 ms', 'p99 ms'],
      r.boundaries.map((b) => [b.boundary, b.method, b.calls, b.items, ms(b.p50Ms), ms(b.p99Ms)]),
    ),
  );
  out.push('');
  out.push(
    `Totals: ${r.totals.syscalls} syscalls, ${r.totals.accesses} accesses, ${r.totals.faults} faults handled, ${r.totals.cr3Switches} CR3 switches.`,
    '',
  );
  return out.join('\n');
}

const MEMINFO_ROWS = [
  'MemTotal',
  'MemFree',
  'AnonPages',
  'PageTables',
  'Slab',
  'VmallocUsed',
  'Committed_AS',
];

function meminfoRows(before: string, after: string): string[][] {
  const parse = (t: string) =>
    new Map(t.split('\n').map((l) => [l.split(':')[0], l.split(':')[1]?.trim() ?? ''] as const));
  const b = parse(before);
  const a = parse(after);
  return MEMINFO_ROWS.filter((k) => b.has(k) || a.has(k)).map((k) => [k, b.get(k) ?? '', a.get(k) ?? '']);
}
