// Tables printed by `npm run bench`, as Markdown so they can be pasted into the README.

/** Prints a titled Markdown table; `rows` are arrays of cell texts. */
export function printTable(title, header, rows) {
  console.log(title);
  console.log('');
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

/** The final table: one row per target of issue 12, met or not (`met` undefined: reported only). */
export function printSummary(summary) {
  printTable(
    '\nSummary (issue 12 targets; ratios are measured in this run, against the baseline named)',
    ['case', 'measured', 'baseline', 'ratio', 'target', 'met?'],
    summary.map(({ name, measured, baseline, ratio, target, met }) => [name, measured, baseline || '-', ratio || '-', target, met === undefined ? '-' : met ? 'yes' : 'NO']),
  );
  const missed = summary.filter((row) => row.met === false).length;
  console.log(`\n${summary.filter((row) => row.met !== undefined).length - missed} targets met, ${missed} missed.`);
}
