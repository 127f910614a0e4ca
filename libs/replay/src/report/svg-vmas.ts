import type { VmaRow } from './model';
import { el, svgDocument, text } from './svg';

const PERM_COLORS: Readonly<Record<string, string>> = { r: '#43a047', w: '#1e88e5', x: '#e53935' };

/**
 * The VMA layout of one process: one row per VMA in address order, a bar whose length grows with
 * log2 of its size (address spaces span 2^47 bytes, so a linear scale would hide everything),
 * colored by its permissions, labelled with its range, perms, size and name.
 */
export function vmaLayoutSvg(process: string, vmas: readonly VmaRow[]): string {
  const rowH = 18;
  const top = 28;
  const barX = 8;
  const barMax = 220;
  const body: string[] = [text(8, 16, `VMAs of ${process} (${vmas.length})`, { 'font-weight': 'bold' })];
  vmas.forEach((v, i) => {
    const size = Number(BigInt(v.end) - BigInt(v.start));
    const width = Math.max(4, (Math.log2(Math.max(size, 4096)) - 11) * (barMax / 37));
    const color = v.perms.includes('x')
      ? PERM_COLORS.x
      : v.perms.includes('w')
        ? PERM_COLORS.w
        : v.perms.startsWith('r')
          ? PERM_COLORS.r
          : '#bdbdbd';
    const y = top + i * rowH;
    body.push(
      el('rect', { x: barX, y, width, height: rowH - 4, fill: color, opacity: v.perms[3] === 's' ? 0.6 : 1 }),
    );
    body.push(
      text(
        barX + barMax + 12,
        y + 11,
        `${v.start}-${v.end} ${v.perms} ${humanSize(size)}${v.name ? ` ${v.name}` : ''}`,
      ),
    );
  });
  if (vmas.length === 0) body.push(text(8, top + 12, '(no VMA at exit)', { fill: '#777' }));
  return svgDocument(760, top + Math.max(1, vmas.length) * rowH + 8, `VMAs of ${process}`, body);
}

export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = bytes;
  while (v >= 1024 && u < units.length - 1 && v % 1024 === 0) {
    v /= 1024;
    u++;
  }
  return `${v} ${units[u]}`;
}
