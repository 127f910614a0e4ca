import type { BuddySample } from './model';
import { el, svgDocument, text } from './svg';

/**
 * Free blocks per order over time, as small multiples: one small line chart per zone and order
 * (x: the samples in order, y: free blocks, each chart scaled to its own maximum, written in its
 * corner), so a fragmenting run shows order 0 rising while high orders fall.
 */
export function buddySeriesSvg(
  samples: readonly BuddySample[],
  title = 'Free blocks per order over time',
): string {
  const zones = [...new Set(samples.flatMap((s) => s.zones.map((z) => z.zone)))];
  const orders = Math.max(0, ...samples.flatMap((s) => s.zones.map((z) => z.free.length)));
  const w = 84;
  const h = 44;
  const left = 60;
  const top = 40;
  const body: string[] = [text(8, 16, `${title} (${samples.length} samples)`, { 'font-weight': 'bold' })];
  for (let o = 0; o < orders; o++)
    body.push(text(left + o * (w + 6) + 2, top - 6, `order ${o}`, { fill: '#333' }));
  zones.forEach((zone, zi) => {
    const y0 = top + zi * (h + 10);
    body.push(text(4, y0 + h / 2 + 4, zone, { fill: '#333' }));
    for (let o = 0; o < orders; o++) {
      const x0 = left + o * (w + 6);
      const values = samples.map((s) => s.zones.find((z) => z.zone === zone)?.free[o] ?? 0);
      const max = Math.max(1, ...values);
      body.push(el('rect', { x: x0, y: y0, width: w, height: h, fill: '#fafafa', stroke: '#ddd' }));
      const points = values
        .map((v, i) => {
          const x = x0 + 2 + (values.length === 1 ? (w - 4) / 2 : (i * (w - 4)) / (values.length - 1));
          const y = y0 + h - 2 - (v / max) * (h - 12);
          return `${Math.round(x * 10) / 10},${Math.round(y * 10) / 10}`;
        })
        .join(' ');
      body.push(el('polyline', { points, fill: 'none', stroke: '#1e88e5', 'stroke-width': 1.5 }));
      body.push(
        text(x0 + w - 3, y0 + 10, String(max === 1 && Math.max(...values) === 0 ? 0 : max), {
          'text-anchor': 'end',
          fill: '#777',
          'font-size': 9,
        }),
      );
    }
  });
  return svgDocument(left + orders * (w + 6) + 8, top + zones.length * (h + 10) + 8, title, body);
}
