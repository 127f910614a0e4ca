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

/**
 * Markdown with its pictures as SVG files (names safe for any file system). `dir`, when given,
 * is a relative folder the pictures go in (`lab-mmap/`), so that several reports can share one
 * directory; file names and the Markdown's links both carry it.
 */
export function renderReport(report: RunReport, options: { dir?: string } = {}): RenderedReport {
  const files: Record<string, string> = {};
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');
  const at = (name: string) => (options.dir ? `${safe(options.dir)}/${name}` : name);
  files[at('memory-map.svg')] = memoryMapSvg(report.memoryMap.end, { title: 'Physical memory at the end' });
  files[at('memory-map-peak.svg')] = memoryMapSvg(report.memoryMap.peak, {
    title: `Physical memory at ${report.memoryMap.peak.label}`,
  });
  files[at('buddy-series.svg')] = buddySeriesSvg(report.buddySeries);
  const vmas: Record<string, string> = {};
  for (const p of report.processes) {
    const name = at(`vmas-${safe(p.name)}.svg`);
    files[name] = vmaLayoutSvg(p.name, p.vmas);
    vmas[p.name] = name;
  }
  const markdown = renderMarkdown(report, {
    memoryMap: at('memory-map.svg'),
    memoryMapPeak: at('memory-map-peak.svg'),
    buddySeries: at('buddy-series.svg'),
    vmas,
  });
  return { markdown, files };
}
