/**
 * Conformance reports written with `--report FORMAT FILE`: JSON (the ConformanceReport as is),
 * JUnit XML (for CI systems) and a self-contained HTML page.
 */
import { writeFile } from 'node:fs/promises';
import { UsageError } from '../errors';
import { escapeHtml, htmlPage } from '../html';
import { tallyByGroup, type ConformanceReport, type TestRecord } from './results';

const REPORT_FORMATS = ['json', 'junit', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportRequest {
  format: ReportFormat;
  file: string;
}

/** `--report json a.json --report html b.html` arrives as ['json', 'a.json', 'html', 'b.html']. */
export function parseReportRequests(values: readonly string[]): ReportRequest[] {
  if (values.length % 2 !== 0) throw new UsageError(`--report takes a format and a file (got ${values.join(' ')})`);
  const requests: ReportRequest[] = [];
  for (let i = 0; i < values.length; i += 2) {
    const format = values[i]!;
    if (!(REPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--report ${format}: unknown format (${REPORT_FORMATS.join(', ')})`);
    requests.push({ format: format as ReportFormat, file: values[i + 1]! });
  }
  return requests;
}

export function renderReport(report: ConformanceReport, format: ReportFormat): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  if (format === 'junit') return junitXml(report);
  return htmlReport(report);
}

export async function writeReports(report: ConformanceReport, requests: readonly ReportRequest[]): Promise<void> {
  for (const request of requests) await writeFile(request.file, renderReport(report, request.format));
}

/** The control characters XML 1.0 cannot carry, even escaped. */
// eslint-disable-next-line no-control-regex -- matching them is the point
const XML_FORBIDDEN_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;

function escapeXml(text: string): string {
  return text.replace(XML_FORBIDDEN_CONTROL, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** One <testsuite> per group, as JUnit consumers (Jenkins, GitLab) expect. */
function junitXml(report: ConformanceReport): string {
  const groups = new Map<string, TestRecord[]>();
  for (const test of report.tests) {
    const group = test.suite.slice(0, 2).join(' › ') || '(root)';
    groups.set(group, [...(groups.get(group) ?? []), test]);
  }
  const suites = [...groups].map(([group, tests]) => {
    const count = (state: TestRecord['state']) => tests.filter((t) => t.state === state).length;
    const seconds = (tests.reduce((sum, t) => sum + t.durationMs, 0) / 1000).toFixed(3);
    const cases = tests.map((test) => {
      const name = escapeXml([...test.suite.slice(2), test.title].join(' › '));
      const head = `    <testcase classname="${escapeXml(group)}" name="${name}" time="${(test.durationMs / 1000).toFixed(3)}"`;
      if (test.state === 'passed') return `${head}/>`;
      if (test.state === 'skipped') return `${head}>\n      <skipped/>\n    </testcase>`;
      const message = escapeXml((test.error ?? '').split('\n')[0] ?? '');
      return `${head}>\n      <failure message="${message}">${escapeXml(test.error ?? '')}</failure>\n    </testcase>`;
    });
    return `  <testsuite name="${escapeXml(group)}" tests="${tests.length}" failures="${count('failed')}" skipped="${count('skipped')}" errors="0" time="${seconds}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="stowage conformance: ${escapeXml(report.driver)}" tests="${report.tests.length}" failures="${report.failed}" skipped="${report.skipped}" time="${(report.durationMs / 1000).toFixed(3)}">\n${suites.join('\n')}\n</testsuites>\n`;
}

const STATE_CLASS = { passed: 'pass', failed: 'fail', skipped: 'skip' } as const;

function htmlReport(report: ConformanceReport): string {
  const verdict = report.failed === 0 ? '<span class="pass">PASS</span>' : '<span class="fail">FAIL</span>';
  const groupRows = tallyByGroup(report.tests)
    .map((g) => `<tr><td>${escapeHtml(g.group)}</td><td>${g.passed}</td><td>${g.failed}</td><td>${g.skipped}</td><td>${(g.ms / 1000).toFixed(1)}</td></tr>`)
    .join('\n');
  const testRows = report.tests
    .map((t) => {
      const error = t.error ? `<pre>${escapeHtml(t.error)}</pre>` : '';
      return `<tr><td>${escapeHtml([...t.suite.slice(1), t.title].join(' › '))}${error}</td><td class="${STATE_CLASS[t.state]}">${t.state}</td><td>${(t.durationMs / 1000).toFixed(2)}</td></tr>`;
    })
    .join('\n');
  const body = `<h1>Conformance: ${escapeHtml(report.driver)} ${verdict}</h1>
<div class="meta">${escapeHtml(report.profile)} · started ${escapeHtml(report.startedAt)} · ${(report.durationMs / 1000).toFixed(1)} s ·
${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped</div>
<h2>By suite</h2>
<table><tr><th>suite</th><th>passed</th><th>failed</th><th>skipped</th><th>seconds</th></tr>
${groupRows}
</table>
<h2>Tests</h2>
<table><tr><th>test</th><th>result</th><th>seconds</th></tr>
${testRows}
</table>`;
  return htmlPage(`Stowage conformance: ${report.driver}`, body);
}
