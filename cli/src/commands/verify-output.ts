import { terminalSafe } from '../progress/terminal-safe';
import type { ContextJson, PlatformVerdictJson, VerifyReportJson } from './verify-report';

/**
 * `archfarm verify`'s text: a head line (REF, index digest, key), then per platform a line
 * with OK or FAILED and its manifest digest, and indented lines for the agent and mode,
 * context, bases and every problem. What a statement says is the builder's text: it is
 * neutralised for the terminal.
 */
export function verifyText(report: VerifyReportJson): string[] {
  const lines = [`${report.ref}@${report.digest} against key ${report.keyid}`];
  const width = Math.max(0, ...report.platforms.map((p) => p.platform.length));
  for (const p of report.platforms) lines.push(...platformLines(p, width));
  for (const problem of report.problems) lines.push(`FAILED  ${problem.message}`);
  lines.push(report.verified ? `verified: ${report.platforms.length} platforms` : 'NOT VERIFIED');
  return lines.map(terminalSafe);
}

function platformLines(p: PlatformVerdictJson, width: number): string[] {
  const lines = [`${p.platform.padEnd(width)}  ${p.problems.length === 0 ? 'OK    ' : 'FAILED'}  ${p.digest}`];
  if (p.agent !== null) lines.push(`  agent    ${p.agent || '(unrecorded)'}, ${p.mode || 'mode unrecorded'}`);
  if (p.context !== null) lines.push(`  context  ${contextText(p.context)}`);
  for (const base of p.bases) lines.push(`  base     ${base.uri} ${base.digest}${base.stage ? ` (stage ${base.stage})` : ''}`);
  for (const problem of p.problems) lines.push(`  problem  ${problem.message}`);
  return lines;
}

/** An uploaded context's digest, or `url#ref[:subdir] commit C` as buildx writes a git source. */
export function contextText(context: ContextJson): string {
  if ('digest' in context) return context.digest;
  const { url, ref, subdir, commit } = context.git;
  const fragment = ref || subdir ? `#${ref}${subdir ? `:${subdir}` : ''}` : '';
  return `${url}${fragment}${commit ? ` commit ${commit}` : ''}`;
}
