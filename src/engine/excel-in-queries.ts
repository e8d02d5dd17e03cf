/**
 * DuckDB reads Excel only through its `excel` extension (read_xlsx), which the connector cannot
 * load (no extension downloads, autoload off). A model query naming an Excel file or read_xlsx is
 * told so plainly, instead of failing on a missing function or an unreadable file.
 */
const EXCEL_NAME = /\.(xlsx|xlsm|xls|xlsb)$/i;

export function isExcelName(url: string): boolean {
  return EXCEL_NAME.test(url.split('?')[0] ?? url);
}

export function excelInQueryMessage(what: string, at: string): string {
  return `reads ${what}${at}, but model queries cannot read Excel files (DuckDB's excel extension is not available here); read them with a file stream instead: format.filetype "excel"`;
}
