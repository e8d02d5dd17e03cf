/**
 * The values of a PDF page's filled form fields (AcroForm widgets), which are not part of the text
 * the page draws: a filled application or invoice form would otherwise lose every answer. One line
 * per field holding a value, `name: value`, in the page's widget order.
 */

/** The part of a pdfjs annotation a form field's value is read from. */
export interface WidgetAnnotation {
  subtype?: string;
  fieldType?: string;
  fieldName?: string;
  fieldValue?: unknown;
  checkBox?: boolean;
  radioButton?: boolean;
  pushButton?: boolean;
  buttonValue?: unknown;
  hidden?: boolean;
}

export function formFieldLines(annotations: WidgetAnnotation[]): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const widget of annotations) {
    if (widget.subtype !== 'Widget' || widget.hidden === true || widget.fieldName === undefined) continue;
    const value = fieldValue(widget);
    if (value === undefined || seen.has(widget.fieldName)) continue;
    // A field shown by several widgets (the same name on every page's header) is written once per page.
    seen.add(widget.fieldName);
    lines.push(`${widget.fieldName}: ${value.replace(/\s*[\r\n]+\s*/g, ' ')}`);
  }
  return lines;
}

function fieldValue(widget: WidgetAnnotation): string | undefined {
  const value = widget.fieldValue;
  switch (widget.fieldType) {
    case 'Tx':
      return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
    case 'Ch': {
      const chosen = (Array.isArray(value) ? value : [value]).filter((item): item is string => typeof item === 'string' && item !== '');
      return chosen.length > 0 ? chosen.join(', ') : undefined;
    }
    case 'Btn': {
      if (widget.pushButton === true || typeof value !== 'string' || value === '' || value === 'Off') return undefined;
      // Each button of a radio group is a widget of the one field: only the chosen one tells its value.
      if (widget.radioButton === true && widget.buttonValue !== value) return undefined;
      return value;
    }
    default:
      return undefined;
  }
}
