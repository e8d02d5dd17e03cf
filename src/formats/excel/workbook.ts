import { posix } from 'node:path';
import { configError } from '../../protocol/errors.js';
import { temporalKind, type TemporalKind } from './number-formats.js';
import { attribute, parseXmlPart } from './xml-parts.js';
import type { XlsxArchive } from './xlsx-archive.js';

/** What reading a sheet needs from the rest of the workbook. */
export interface Workbook {
  sheetPart: string;
  sheetName: string;
  date1904: boolean;
  /** The temporal kind of each cell style (`s`), undefined for a plain number. */
  styleKinds: (TemporalKind | undefined)[];
  sharedStrings: string[];
}

/**
 * The shared string table is the one part held in memory (every reader does: a cell names its
 * string by index). A table past this many characters is refused rather than exhausting memory.
 */
export const MAX_SHARED_STRING_CHARS = 256 * 1024 * 1024;
/**
 * What each entry costs against that bound besides its characters (its slot in the table): a
 * table of millions of empty `<si/>` (five bytes each, deflated to almost nothing) is no smaller in memory.
 */
const SHARED_STRING_ENTRY_CHARS = 16;

export async function readWorkbook(archive: XlsxArchive, url: string, sheet: string | undefined): Promise<Workbook> {
  refuseOtherFormats(archive, url);
  const workbookPart = (await relationshipTargets(archive, '_rels/.rels', '', url)).find((rel) => rel.type.endsWith('/officeDocument'))?.target ?? 'xl/workbook.xml';
  if (!archive.has(workbookPart)) throw configError(`${url} is not an Excel .xlsx workbook (it has no ${workbookPart}).`);
  const base = posix.dirname(workbookPart);
  const rels = await relationshipTargets(archive, `${base}/_rels/${posix.basename(workbookPart)}.rels`, base, url);
  const { sheets, date1904 } = await readSheetList(archive, workbookPart, url);
  const chosen = chooseSheet(sheets, sheet, url);
  const rel = rels.find((candidate) => candidate.id === chosen.relId);
  if (rel === undefined || !archive.has(rel.target)) throw configError(`${url}: the sheet "${chosen.name}" has no data part in the workbook (a damaged file?).`);
  if (!rel.type.endsWith('/worksheet')) throw configError(`${url}: "${chosen.name}" is a chart or dialog sheet, not a worksheet; name a worksheet in the stream's format.sheet.`);
  const stylesPart = rels.find((candidate) => candidate.type.endsWith('/styles'))?.target;
  const stringsPart = rels.find((candidate) => candidate.type.endsWith('/sharedStrings'))?.target;
  return {
    sheetPart: rel.target,
    sheetName: chosen.name,
    date1904,
    styleKinds: stylesPart !== undefined && archive.has(stylesPart) ? await readStyleKinds(archive, stylesPart, url) : [],
    sharedStrings: stringsPart !== undefined && archive.has(stringsPart) ? await readSharedStrings(archive, stringsPart, url) : [],
  };
}

/** Other spreadsheet formats in a zip: say what they are instead of "not a workbook". */
function refuseOtherFormats(archive: XlsxArchive, url: string): void {
  if (archive.has('xl/workbook.bin')) throw configError(`${url} is an Excel binary workbook (.xlsb), which is not supported: save it as .xlsx.`);
  if (archive.has('content.xml') && archive.has('mimetype')) throw configError(`${url} is an OpenDocument spreadsheet (.ods), which is not supported: save it as .xlsx.`);
}

interface Relationship {
  id: string;
  type: string;
  target: string;
}

async function relationshipTargets(archive: XlsxArchive, part: string, base: string, url: string): Promise<Relationship[]> {
  if (!archive.has(part)) return [];
  const found: Relationship[] = [];
  await parseXmlPart(await archive.open(part), part, url, {
    open: (name, attributes) => {
      if (name !== 'Relationship' || attributes.Target === undefined || attributes.TargetMode === 'External') return;
      const target = attributes.Target.startsWith('/') ? attributes.Target.slice(1) : posix.normalize(posix.join(base, attributes.Target));
      found.push({ id: attributes.Id ?? '', type: attributes.Type ?? '', target });
    },
  });
  return found;
}

interface SheetEntry {
  name: string;
  relId: string;
}

async function readSheetList(archive: XlsxArchive, part: string, url: string): Promise<{ sheets: SheetEntry[]; date1904: boolean }> {
  const sheets: SheetEntry[] = [];
  let date1904 = false;
  await parseXmlPart(await archive.open(part), part, url, {
    open: (name, attributes) => {
      if (name === 'workbookPr') date1904 = attributes.date1904 === '1' || attributes.date1904 === 'true';
      if (name === 'sheet') sheets.push({ name: attributes.name ?? '', relId: attribute(attributes, 'id') ?? '' });
    },
  });
  return { sheets, date1904 };
}

function chooseSheet(sheets: SheetEntry[], wanted: string | undefined, url: string): SheetEntry {
  if (sheets.length === 0) throw configError(`${url} is a workbook without sheets.`);
  if (wanted === undefined) return sheets[0]!;
  // Excel treats sheet names case-insensitively (it refuses "Data" beside "data").
  const found = sheets.find((entry) => entry.name === wanted) ?? sheets.find((entry) => entry.name.toLowerCase() === wanted.toLowerCase());
  if (found !== undefined) return found;
  const names = sheets.map((entry) => JSON.stringify(entry.name)).join(', ');
  throw configError(`${url} has no sheet named ${JSON.stringify(wanted)} (format.sheet); its sheets are ${names}.`.slice(0, 600));
}

/** Each cell style's number format, as the temporal kind it makes a number (styles.xml: numFmts, cellXfs). */
async function readStyleKinds(archive: XlsxArchive, part: string, url: string): Promise<(TemporalKind | undefined)[]> {
  const codes = new Map<number, string>();
  const kinds: (TemporalKind | undefined)[] = [];
  let inCellXfs = false;
  await parseXmlPart(await archive.open(part), part, url, {
    open: (name, attributes) => {
      if (name === 'numFmt' && attributes.numFmtId !== undefined && attributes.formatCode !== undefined) codes.set(Number(attributes.numFmtId), attributes.formatCode);
      else if (name === 'cellXfs') inCellXfs = true;
      else if (name === 'xf' && inCellXfs) {
        const id = Number(attributes.numFmtId ?? 0);
        kinds.push(temporalKind(id, codes.get(id)));
      }
    },
    close: (name) => {
      if (name === 'cellXfs') inCellXfs = false;
    },
  });
  return kinds;
}

/** The shared strings: each `<si>` is the text of its runs (`<t>`), without phonetic guides (`<rPh>`). */
async function readSharedStrings(archive: XlsxArchive, part: string, url: string): Promise<string[]> {
  const strings: string[] = [];
  let current: string[] | undefined;
  let inText = false;
  let phonetic = 0;
  let chars = 0;
  const tooLarge = () =>
    configError(`${url}: its shared string table holds more than ${MAX_SHARED_STRING_CHARS} characters (counting ${SHARED_STRING_ENTRY_CHARS} for each entry), more than this connector keeps in memory.`);
  await parseXmlPart(await archive.open(part), part, url, {
    open: (name) => {
      if (name === 'si') current = [];
      else if (name === 'rPh') phonetic += 1;
      else if (name === 't' && phonetic === 0) inText = true;
    },
    text: (text) => {
      if (!inText || current === undefined) return;
      chars += text.length;
      if (chars > MAX_SHARED_STRING_CHARS) throw tooLarge();
      current.push(text);
    },
    close: (name) => {
      if (name === 't') inText = false;
      else if (name === 'rPh') phonetic -= 1;
      else if (name === 'si' && current !== undefined) {
        chars += SHARED_STRING_ENTRY_CHARS;
        if (chars > MAX_SHARED_STRING_CHARS) throw tooLarge();
        strings.push(current.join(''));
        current = undefined;
      }
    },
  });
  return strings;
}
