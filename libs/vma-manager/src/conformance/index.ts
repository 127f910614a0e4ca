export { parseOps, OpsParseError } from './ops-parser';
export type { Op, ScriptLine } from './ops-parser';
export { runScript, REGION_START, REGION_END, ScriptRefusedError } from './runner';
export { compareJsonl } from './compare';
export type { Difference, Tier } from './compare';
export { runConformance, formatConformanceReport } from './run-conformance';
export type { ConformanceCase, ConformanceReport, ConformanceOptions } from './run-conformance';
export { VmaOnlyTarget, PortsTarget, UnsupportedOpError } from './page-state';
export type { Target, Residency, TouchResult } from './page-state';
