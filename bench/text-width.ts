/**
 * Text widths for vega's layout without a canvas. vega alone guesses 0.8 em a character, twice
 * a typical sans-serif's, so every chart came out with a wide empty margin. These are Arial's
 * advance widths (Liberation Sans measures the same), in hundredths of an em, and a 15% margin
 * for wider fallbacks (DejaVu Sans): a label can be a little roomy, never cut.
 */
const CHARS = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~×÷→–—µ≥≤…·’";
// prettier-ignore
const NORMAL = [28,28,35,56,56,89,67,19,33,33,39,58,28,33,28,28,56,56,56,56,56,56,56,56,56,56,28,28,58,58,58,56,102,67,67,72,72,67,61,78,72,28,50,67,56,83,72,78,67,78,72,67,61,72,67,94,67,67,61,28,28,28,47,56,33,56,56,50,56,56,28,56,56,22,22,50,22,83,56,56,56,56,33,50,28,56,50,72,50,50,50,33,26,33,58,58,55,100,56,100,58,55,55,100,28,22];
// prettier-ignore
const BOLD = [28,33,47,56,56,89,72,24,33,33,39,58,28,33,28,28,56,56,56,56,56,56,56,56,56,56,33,33,58,58,58,61,98,72,72,72,72,67,61,78,72,28,56,72,61,83,72,78,67,78,72,67,61,72,67,94,67,67,61,33,28,33,58,56,33,56,61,56,61,56,33,61,61,28,28,56,28,89,61,61,61,61,39,56,33,61,56,78,56,56,50,39,28,39,58,58,55,100,56,100,58,55,55,100,28,28];
const MARGIN = 1.15;
/** A character not in the table: a full em. */
const UNKNOWN = 100;

const widths = (table: number[]) => new Map([...CHARS].map((ch, i) => [ch, table[i]!]));
const NORMAL_WIDTHS = widths(NORMAL);
const BOLD_WIDTHS = widths(BOLD);

/** The width in pixels of `text` at `fontSize` px in a sans-serif font, rounded up. */
export function textWidth(text: string, fontSize: number, bold = false): number {
  const table = bold ? BOLD_WIDTHS : NORMAL_WIDTHS;
  let hundredths = 0;
  for (const ch of text) hundredths += table.get(ch) ?? UNKNOWN;
  return Math.ceil((hundredths / 100) * fontSize * MARGIN);
}
