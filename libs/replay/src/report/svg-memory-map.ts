import type { FrameState, PhysMemoryMap } from '../ports';
import { el, svgDocument, text } from './svg';

/** Colors of frame states (fill) and zones (background band). */
export const STATE_COLORS: Readonly<Record<FrameState, string>> = {
  free: '#e8f5e9',
  allocated: '#1e88e5',
  'page-table': '#fb8c00',
  slab: '#8e24aa',
  reserved: '#616161',
  absent: '#ffffff',
};
const ZONE_COLORS = ['#ffcdd2', '#c8e6c9', '#bbdefb', '#fff9c4', '#d1c4e9'];
/** Drawing order when a cell groups frames of several states: the rarest wins ties, so a single page table shows. */
const STATE_PRIORITY: readonly FrameState[] = [
  'page-table',
  'slab',
  'allocated',
  'reserved',
  'free',
  'absent',
];

export interface MemoryMapOptions {
  /** Cells per row. */
  readonly columns?: number;
  /** Most cells drawn; above that a cell stands for a group of PFNs. */
  readonly maxCells?: number;
  readonly cellSize?: number;
  readonly title?: string;
}

/**
 * The physical memory map: one cell per PFN (or per group of 2^k PFNs on big machines), filled
 * by the frame's state, on a band colored by its zone. A grouped cell shows the state most of
 * its frames are in, except that any page-table or slab frame in it wins (they are rare and
 * interesting).
 */
export function memoryMapSvg(map: PhysMemoryMap, options: MemoryMapOptions = {}): string {
  const columns = options.columns ?? 64;
  const maxCells = options.maxCells ?? 4096;
  const cell = options.cellSize ?? 8;
  let group = 1;
  while (Math.ceil(map.totalPfns / group) > maxCells) group *= 2;
  const cells = Math.ceil(map.totalPfns / group);
  // counts[cell * states + stateIndex]
  const counts = new Uint32Array(cells * STATE_PRIORITY.length);
  for (const run of map.runs) {
    const s = STATE_PRIORITY.indexOf(run.state);
    let pfn = run.startPfn;
    const end = Math.min(run.startPfn + run.count, map.totalPfns);
    while (pfn < end) {
      const c = Math.floor(pfn / group);
      const upto = Math.min(end, (c + 1) * group);
      counts[c * STATE_PRIORITY.length + s] += upto - pfn;
      pfn = upto;
    }
  }
  const rows = Math.ceil(cells / columns);
  const left = 70;
  const top = 28;
  const legendY = top + rows * cell + 16;
  const body: string[] = [
    text(
      8,
      16,
      `Physical memory: ${map.totalPfns} PFNs, ${group === 1 ? 'one cell per PFN' : `one cell per ${group} PFNs`}`,
      { 'font-weight': 'bold' },
    ),
  ];
  map.zones.forEach((z, i) => {
    const first = Math.floor(z.startPfn / group);
    const last = Math.ceil(z.endPfn / group) - 1;
    for (let r = Math.floor(first / columns); r <= Math.floor(last / columns); r++) {
      const c0 = r === Math.floor(first / columns) ? first % columns : 0;
      const c1 = r === Math.floor(last / columns) ? last % columns : columns - 1;
      body.push(
        el('rect', {
          x: left + c0 * cell,
          y: top + r * cell,
          width: (c1 - c0 + 1) * cell,
          height: cell,
          fill: ZONE_COLORS[i % ZONE_COLORS.length],
        }),
      );
    }
    body.push(text(4, top + Math.floor(first / columns) * cell + cell, z.name, { fill: '#333' }));
  });
  // one rect per run of equal cells within a row keeps big maps small
  for (let row = 0; row < rows; row++) {
    let c = row * columns;
    const rowEnd = Math.min(cells, c + columns);
    while (c < rowEnd) {
      const state = cellState(counts, c);
      let run = 1;
      while (c + run < rowEnd && cellState(counts, c + run) === state) run++;
      if (state !== 'absent') {
        body.push(
          el('rect', {
            x: left + (c % columns) * cell + 1,
            y: top + row * cell + 1,
            width: run * cell - 2,
            height: cell - 2,
            fill: STATE_COLORS[state],
          }),
        );
      }
      c += run;
    }
  }
  let x = 8;
  for (const state of ['free', 'allocated', 'page-table', 'slab', 'reserved'] as const) {
    body.push(
      el('rect', { x, y: legendY - 9, width: 10, height: 10, fill: STATE_COLORS[state], stroke: '#999' }),
    );
    body.push(text(x + 14, legendY, state));
    x += 90;
  }
  map.zones.forEach((z, i) => {
    body.push(
      el('rect', { x, y: legendY - 9, width: 10, height: 10, fill: ZONE_COLORS[i % ZONE_COLORS.length] }),
    );
    body.push(text(x + 14, legendY, `zone ${z.name}`));
    x += 100;
  });
  return svgDocument(
    Math.max(left + columns * cell + 8, x),
    legendY + 12,
    options.title ?? 'Physical memory map',
    body,
  );
}

function cellState(counts: Uint32Array, c: number): FrameState {
  const n = STATE_PRIORITY.length;
  if (counts[c * n] > 0) return 'page-table';
  if (counts[c * n + 1] > 0) return 'slab';
  let best = n - 1;
  for (let s = 2; s < n; s++) if (counts[c * n + s] > counts[c * n + best]) best = s;
  return STATE_PRIORITY[best];
}
