export { detectChecks } from './detect.js';
export type { DetectedChecks, QaCheck } from './detect.js';
export {
  clusterFindings,
  compareWithHistory,
  HISTORY_WINDOW,
  PERSISTENT_CYCLES,
} from './history.js';
export type { FindingHistory } from './history.js';
export { failingChecks, qaFailureQuestion, qaFixAnswer } from './messages.js';
export { fingerprintOf, parseFindings } from './parse-findings.js';
export type { ParsedFindings } from './parse-findings.js';
export { readReport, reportForJournal, reportPath, writeReport } from './report-file.js';
export type { JournalQa } from './report-file.js';
export {
  changesSchema,
  clusterSchema,
  findingSchema,
  qaReportSchema,
  qaSummarySchema,
  toolResultSchema,
} from './report-schema.js';
export type {
  Changes,
  CheckStatus,
  Cluster,
  Finding,
  QaReport,
  QaSummary,
  ToolResult,
} from './report-schema.js';
export { MAX_FINDINGS, runQa } from './run-qa.js';
export type { QaInput } from './run-qa.js';
