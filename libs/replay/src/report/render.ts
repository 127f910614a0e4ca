import { renderMarkdown } from './markdown';
import type { RunReport } from './model';
import { buddySeriesSvg } from './svg-buddy';
import { memoryMapSvg } from './svg-memory-map';
import { vmaLayoutSvg } from './svg-vmas';

/** A rendered report: the Markdown text and the SVG files it links, by file name. */
export interface RenderedReport {
  readonly markdown: string;
  readonly files: Readonly<Record<string, string>>;
}

/** Markdown with its pictures as SVG files (names safe for any file system). */
export function renderReport(report: RunReport): RenderedReport {
  const files: Record<string, string> = {};
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');
  files['memory-map.svg'] = memoryMapSvg(report.memoryMap.end, { title: 'Physical memory at the end' });
  files['memory-map-peak.svg'] = memoryMapSvg(report.memoryMap.peak, {
    title: `Physical memory at ${report.memoryMap.peak.label}`,
  });
  files['buddy-series.svg'] = buddySeriesSvg(report.buddySeries);
  const vmas: Record<string, string> = {};
  for (const p of report.processes) {
    const name = `vmas-${safe(p.name)}.svg`;
    files[name] = vmaLayoutSvg(p.name, p.vmas);
    vmas[p.name] = name;
  }
  const markdown = renderMarkdown(report, {
    memoryMap: 'memory-map.svg',
    memoryMapPeak: 'memory-map-peak.svg',
    buddySeries: 'buddy-series.svg',
    vmas,
  });
  return { markdown, files };
}
