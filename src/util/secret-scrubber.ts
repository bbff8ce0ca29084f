/** What a scrubbed secret, or a piece of one, is replaced with (the logger's censor too). */
export const REDACTED = "[redacted]";

/**
 * Secrets shorter than this are not scrubbed: they cannot be told apart from ordinary words, and
 * replacing every "test" in a message would garble it. It is also the length of the shortest
 * piece of a secret that is replaced where it appears alone (a key cut short by the provider).
 */
const MIN_SECRET_LENGTH = 8;

/** Piece of a masked echo kept as a secret's start or end: `sk-proj-****abcd`, `sk-abc1...wxyz`. */
const MIN_MASKED_PART = 4;
const MASK = /\*{3,}|\.{3,}|…+/g;

interface Range {
  start: number;
  end: number;
}

/**
 * Replaces kiln's own credentials wherever they appear in text that came from outside (a
 * provider's error body, a task's failure reason) before it is stored, sent or logged. Matches:
 * - every piece of a secret at least `MIN_SECRET_LENGTH` long: the whole key, a key cut short,
 *   one quoted inside other text;
 * - a masked echo: a secret's first (or last) `MIN_MASKED_PART`+ characters next to a run of
 *   `***`, `...` or `…`, with the mask and the other visible end.
 * Built once from the configuration (`secretScrubberOf`); `with` adds a job's own secrets.
 * Pure and cheap: a hash lookup per character of the text.
 */
export class SecretScrubber {
  /** Secrets matched piece by piece. */
  private readonly partial: readonly string[];
  /** Secrets matched only whole (JSON-escaped forms: a piece could split an escape sequence). */
  private readonly exact: readonly string[];
  /** Every `MIN_SECRET_LENGTH`-character piece of a partial secret → where it occurs in which secret. */
  private readonly pieces = new Map<string, Array<{ secret: string; at: number }>>();

  /**
   * @param secrets matched whole and piece by piece
   * @param exact matched whole only
   * @param base a scrubber whose secrets are matched too (what `with` extends, left as it is)
   */
  constructor(
    secrets: Iterable<string | undefined>,
    exact: Iterable<string> = [],
    private readonly base?: SecretScrubber,
  ) {
    this.partial = [...new Set([...secrets].filter((s): s is string => s !== undefined && s.length >= MIN_SECRET_LENGTH))];
    this.exact = [...new Set([...exact].filter((s) => s.length >= MIN_SECRET_LENGTH))];
    for (const secret of this.partial) {
      for (let at = 0; at + MIN_SECRET_LENGTH <= secret.length; at++) {
        const piece = secret.slice(at, at + MIN_SECRET_LENGTH);
        const where = this.pieces.get(piece);
        if (where) where.push({ secret, at });
        else this.pieces.set(piece, [{ secret, at }]);
      }
    }
  }

  /** True when there is nothing to scrub (no secret long enough). */
  get empty(): boolean {
    return this.partial.length === 0 && this.exact.length === 0 && (this.base?.empty ?? true);
  }

  /**
   * This scrubber plus `secrets` (a job's own webhook secret); itself when none is long enough.
   * Only the added secrets are indexed, so it is cheap enough to make per job.
   */
  with(secrets: Iterable<string | undefined>): SecretScrubber {
    const more = [...secrets].filter((s): s is string => s !== undefined && s.length >= MIN_SECRET_LENGTH);
    return more.length === 0 ? this : new SecretScrubber(more, [], this);
  }

  /** `text` with every secret and piece of one replaced by `REDACTED`. */
  scrub(text: string): string {
    if (this.empty || text.length < MIN_SECRET_LENGTH) return text;
    return replaced(text, merged(this.rangesIn(text)));
  }

  /**
   * A scrubber for a serialized JSON line (a log record): secrets as JSON writes them inside a
   * string. A secret that JSON escapes (a quote, a backslash, a control character) is matched
   * whole only, and a piece never starts in the middle of an escape sequence.
   */
  forJson(): JsonLineScrubber {
    const escaped = (s: string) => JSON.stringify(s).slice(1, -1);
    const partial = this.allPartial();
    const plain = partial.filter((s) => escaped(s) === s);
    const other = [...partial.filter((s) => escaped(s) !== s).map(escaped), ...this.allExact()];
    const inner = new SecretScrubber(plain, other);
    return { scrub: (line) => (inner.empty ? line : replaced(line, merged(inner.rangesIn(line).map((r) => outsideEscape(line, r))))) };
  }

  /** Every string inside `value` (plain records and arrays, at any depth) scrubbed; other values as they are. */
  scrubDeep<T>(value: T): T {
    if (this.empty) return value;
    return this.deep(value, 0) as T;
  }

  private deep(value: unknown, depth: number): unknown {
    if (typeof value === "string") return this.scrub(value);
    if (value === null || typeof value !== "object" || depth > 32) return value;
    if (Array.isArray(value)) return value.map((v) => this.deep(v, depth + 1));
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.deep(v, depth + 1)]));
  }

  private rangesIn(text: string): Range[] {
    const own = [...this.pieceRanges(text), ...this.exactRanges(text), ...this.maskedRanges(text)];
    return this.base ? [...own, ...this.base.rangesIn(text)] : own;
  }

  private allPartial(): string[] {
    return [...this.partial, ...(this.base?.allPartial() ?? [])];
  }

  private allExact(): string[] {
    return [...this.exact, ...(this.base?.allExact() ?? [])];
  }

  /** Runs of `text` that are pieces of a secret, each as long as it goes on matching. */
  private *pieceRanges(text: string): Generator<Range> {
    if (this.pieces.size === 0) return;
    for (let i = 0; i + MIN_SECRET_LENGTH <= text.length; i++) {
      for (const { secret, at } of this.pieces.get(text.slice(i, i + MIN_SECRET_LENGTH)) ?? []) {
        let end = i + MIN_SECRET_LENGTH;
        while (end < text.length && text[end] === secret[at + end - i]) end++;
        yield { start: i, end };
      }
    }
  }

  private *exactRanges(text: string): Generator<Range> {
    for (const secret of this.exact) {
      for (let at = text.indexOf(secret); at >= 0; at = text.indexOf(secret, at + 1)) yield { start: at, end: at + secret.length };
    }
  }

  /** `sk-abc1...wxyz`, `sk-proj-****abcd`: a secret's visible start or end around a mask. */
  private *maskedRanges(text: string): Generator<Range> {
    if (this.partial.length === 0) return;
    for (const mask of text.matchAll(MASK)) {
      const start = mask.index;
      const end = start + mask[0].length;
      const before = Math.max(0, ...this.partial.map((s) => visibleStart(text, start, s)));
      const after = Math.max(0, ...this.partial.map((s) => visibleEnd(text, end, s)));
      if (before >= MIN_MASKED_PART || after >= MIN_MASKED_PART) yield { start: start - before, end: end + after };
    }
  }
}

/** A scrubber of serialized JSON lines (`SecretScrubber.forJson`). */
export interface JsonLineScrubber {
  scrub(line: string): string;
}

/** How many characters before `at` are the start of `secret` (0 when fewer than MIN_MASKED_PART). */
function visibleStart(text: string, at: number, secret: string): number {
  for (let n = Math.min(at, secret.length - 1); n >= MIN_MASKED_PART; n--) if (text.slice(at - n, at) === secret.slice(0, n)) return n;
  return 0;
}

/** How many characters from `at` on are the end of `secret` (0 when fewer than MIN_MASKED_PART). */
function visibleEnd(text: string, at: number, secret: string): number {
  for (let n = Math.min(text.length - at, secret.length - 1); n >= MIN_MASKED_PART; n--)
    if (text.slice(at, at + n) === secret.slice(secret.length - n)) return n;
  return 0;
}

/** A range that starts right after the backslash of an escape sequence takes the backslash too. */
function outsideEscape(text: string, range: Range): Range {
  let slashes = 0;
  while (text[range.start - 1 - slashes] === "\\") slashes++;
  return slashes % 2 === 1 ? { ...range, start: range.start - 1 } : range;
}

/** Overlapping and touching ranges as one, in order. */
function merged(ranges: Range[]): Range[] {
  const sorted = ranges.sort((a, b) => a.start - b.start);
  const out: Range[] = [];
  for (const range of sorted) {
    const last = out.at(-1);
    if (last && range.start <= last.end) last.end = Math.max(last.end, range.end);
    else out.push({ ...range });
  }
  return out;
}

function replaced(text: string, ranges: Range[]): string {
  if (ranges.length === 0) return text;
  let out = "";
  let from = 0;
  for (const { start, end } of ranges) {
    out += text.slice(from, start) + REDACTED;
    from = end;
  }
  return out + text.slice(from);
}
