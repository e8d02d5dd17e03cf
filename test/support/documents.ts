import { AlignmentType, Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow, TextRun } from 'docx';
import PDFDocument from 'pdfkit';

/** A PDF as pdfkit (a real PDF writer) makes it: one line of text per page, or an encrypted one. */
export async function pdfOf(pages: string[][], options: { userPassword?: string } = {}): Promise<Buffer> {
  const doc = new PDFDocument({ ...(options.userPassword === undefined ? {} : { userPassword: options.userPassword }), compress: true });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    doc.on('end', () => resolve());
    doc.on('error', reject);
  });
  pages.forEach((lines, index) => {
    if (index > 0) doc.addPage();
    for (const line of lines) doc.text(line);
  });
  doc.end();
  await done;
  return Buffer.concat(chunks);
}

/** A Word document as the `docx` library (a real .docx writer) makes it: headings, styled runs, lists, a table. */
export async function reportDocx(): Promise<Buffer> {
  const cell = (text: string) => new TableCell({ children: [new Paragraph(text)] });
  const doc = new Document({
    numbering: { config: [{ reference: 'steps', levels: [{ level: 0, format: 'decimal', text: '%1.', alignment: AlignmentType.START }] }] },
    sections: [
      {
        children: [
          new Paragraph({ text: 'Quarterly plan', heading: HeadingLevel.HEADING_1 }),
          new Paragraph({ children: [new TextRun('Revenue is '), new TextRun({ text: 'up', bold: true }), new TextRun(' and costs are '), new TextRun({ text: 'flat', italics: true }), new TextRun('.')] }),
          new Paragraph({ text: 'Risks', heading: HeadingLevel.HEADING_2 }),
          new Paragraph({ text: 'Supply | demand', bullet: { level: 0 } }),
          new Paragraph({ text: 'Hiring', bullet: { level: 0 } }),
          new Paragraph({ text: 'Senior staff', bullet: { level: 1 } }),
          new Paragraph({ text: 'Ship it', numbering: { reference: 'steps', level: 0 } }),
          new Paragraph({ text: 'Measure it', numbering: { reference: 'steps', level: 0 } }),
          new Table({
            rows: [
              new TableRow({ children: [cell('Region'), cell('Sales')] }),
              new TableRow({ children: [cell('North'), cell('1,200')] }),
              new TableRow({ children: [cell('South | East'), cell('980')] }),
            ],
          }),
        ],
      },
    ],
  });
  return Packer.toBuffer(doc);
}

/** A .docx whose one paragraph is `characters` long: a few KB zipped, large inflated. */
export async function longDocx(characters: number): Promise<Buffer> {
  return Packer.toBuffer(new Document({ sections: [{ children: [new Paragraph('a'.repeat(characters))] }] }));
}
