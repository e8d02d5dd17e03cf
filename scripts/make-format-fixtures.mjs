// Writes the acceptance fixtures of the formats a CSV/Parquet/JSON Lines reader does not cover, each
// with a real writer other than this connector's own code, under
// integration_tests/fixtures/acceptance-bucket/formats/ (committed; run again only to change them):
//   orders.avro        avro-js, Apache Avro's JavaScript writer (deflate codec)
//   orders.xlsx        SheetJS (xlsx)
//   docs/notes.md      as a person writes it
//   docs/report.pdf    pdfkit
//   docs/plan.docx     docx
//   orders.csv.bz2     the bzip2 tool
//   orders-csv.zip     the zip tool (two CSV members, one in a folder)
//
//   node scripts/make-format-fixtures.mjs
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const root = join(import.meta.dirname, '..');
const out = join(root, 'integration_tests', 'fixtures', 'acceptance-bucket', 'formats');
mkdirSync(join(out, 'docs'), { recursive: true });

const orders = [
  { order_id: 1, customer: 'Ada', amount: 12.5, ordered_at: '2024-01-03T10:00:00Z', note: null },
  { order_id: 2, customer: 'Grace', amount: 7.25, ordered_at: '2024-01-09T16:30:00Z', note: 'gift' },
  { order_id: 3, customer: 'Hopper, Grace', amount: 30, ordered_at: '2024-01-21T08:15:00Z', note: 'says "hi"' },
];

async function avro() {
  // avro-js's index needs a package it does not declare; its file module is the writer.
  const { streams } = require('avro-js/lib/files.js');
  const schema = {
    type: 'record',
    name: 'Order',
    fields: [
      { name: 'order_id', type: 'long' },
      { name: 'customer', type: 'string' },
      { name: 'amount', type: 'double' },
      { name: 'ordered_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'note', type: ['null', 'string'], default: null },
    ],
  };
  const chunks = [];
  const encoder = new streams.BlockEncoder(schema, { codec: 'deflate' });
  encoder.on('data', (chunk) => chunks.push(chunk));
  const done = new Promise((resolve) => encoder.on('end', resolve));
  for (const order of orders) encoder.write({ ...order, ordered_at: Date.parse(order.ordered_at), note: order.note === null ? null : { string: order.note } });
  encoder.end();
  await done;
  writeFileSync(join(out, 'orders.avro'), Buffer.concat(chunks));
}

function excel() {
  const XLSX = require('xlsx');
  const sheet = XLSX.utils.aoa_to_sheet(
    [['order_id', 'customer', 'amount', 'ordered_on', 'paid'], ...orders.map((order) => [order.order_id, order.customer, order.amount, new Date(order.ordered_at.slice(0, 10)), order.order_id !== 2])],
    { cellDates: true, dateNF: 'yyyy-mm-dd' },
  );
  const book = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(book, sheet, 'Orders');
  XLSX.utils.book_append_sheet(book, XLSX.utils.aoa_to_sheet([['total'], [49.75]]), 'Summary');
  writeFileSync(join(out, 'orders.xlsx'), XLSX.write(book, { type: 'buffer', bookType: 'xlsx' }));
}

async function documents() {
  writeFileSync(join(out, 'docs', 'notes.md'), '# Release notes\n\n- Avro, Excel and documents\n- bz2 and zip\n');
  const PDFDocument = require('pdfkit');
  const pdf = new PDFDocument({ compress: true, info: { CreationDate: new Date('2024-01-01T00:00:00Z') } });
  const chunks = [];
  pdf.on('data', (chunk) => chunks.push(chunk));
  const ended = new Promise((resolve) => pdf.on('end', resolve));
  pdf.text('Quarterly report');
  pdf.text('Orders grew in January.');
  pdf.addPage();
  pdf.text('Page two: outlook.');
  pdf.end();
  await ended;
  writeFileSync(join(out, 'docs', 'report.pdf'), Buffer.concat(chunks));
  const { Document, HeadingLevel, Packer, Paragraph, TextRun } = require('docx');
  const doc = new Document({
    sections: [
      {
        children: [
          new Paragraph({ text: 'Plan', heading: HeadingLevel.HEADING_1 }),
          new Paragraph({ children: [new TextRun('Ship '), new TextRun({ text: 'formats', bold: true }), new TextRun('.')] }),
          new Paragraph({ text: 'Measure', bullet: { level: 0 } }),
        ],
      },
    ],
  });
  writeFileSync(join(out, 'docs', 'plan.docx'), await Packer.toBuffer(doc));
}

function compressed() {
  const csv = (rows) => `order_id,customer,amount\n${rows.map((order) => `${order.order_id},"${order.customer}",${order.amount}`).join('\n')}\n`;
  const work = mkdtempSync(join(tmpdir(), 'format-fixtures-'));
  try {
    writeFileSync(join(work, 'orders.csv'), csv(orders));
    execFileSync('bzip2', ['-9', '-k', join(work, 'orders.csv')]);
    writeFileSync(join(out, 'orders.csv.bz2'), execFileSync('cat', [join(work, 'orders.csv.bz2')]));
    mkdirSync(join(work, 'zipped', '2024'), { recursive: true });
    writeFileSync(join(work, 'zipped', 'january.csv'), csv(orders.slice(0, 2)));
    writeFileSync(join(work, 'zipped', '2024', 'february.csv'), csv(orders.slice(2)));
    rmSync(join(out, 'orders-csv.zip'), { force: true });
    execFileSync('zip', ['-q', '-X', '-r', join(out, 'orders-csv.zip'), 'january.csv', '2024'], { cwd: join(work, 'zipped') });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await avro();
excel();
await documents();
compressed();
console.error(`wrote the format fixtures under ${out}`);
