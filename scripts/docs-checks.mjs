// The checks behind `npm run check:docs` (scripts/check-docs.mjs), as functions of file contents
// so that test/unit/docs-checks.test.ts can feed them bad inputs. Each returns a list of
// problems, one line each, empty when the input holds. Markdown is parsed as GitHub does
// (CommonMark + GFM tables) and headings are slugged with github-slugger, GitHub's own rule, so
// a link or anchor inside a code block is not a link, and an anchor is what GitHub renders.
import { dirname, extname, posix } from "node:path";
import GithubSlugger from "github-slugger";
import { fromMarkdown } from "mdast-util-from-markdown";
import { gfmFromMarkdown } from "mdast-util-gfm";
import { toString } from "mdast-util-to-string";
import { gfm } from "micromark-extension-gfm";

/** The README's budget: it is the front door, detail lives in docs/. */
export const README_MAX_LINES = 200;

const parse = (markdown) => fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });

/** Every node of an mdast tree, depth first. */
function* nodes(tree) {
  yield tree;
  for (const child of tree.children ?? []) yield* nodes(child);
}

/** The anchors a Markdown file offers: its headings' GitHub slugs and any `<a id|name="...">`. */
export function anchorsOf(markdown) {
  const slugger = new GithubSlugger();
  const anchors = new Set();
  for (const node of nodes(parse(markdown))) {
    if (node.type === "heading") anchors.add(slugger.slug(toString(node)));
    if (node.type === "html") for (const [, id] of node.value.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(id);
  }
  return anchors;
}

/** The link targets a Markdown file holds (links, images, reference definitions), with their lines. */
export function linksOf(markdown) {
  const links = [];
  for (const node of nodes(parse(markdown))) {
    if (node.type === "link" || node.type === "image" || node.type === "definition")
      links.push({ url: node.url, line: node.position?.start.line ?? 0 });
  }
  return links;
}

/** http:, mailto:, protocol-relative: not this repository's files, and not fetched (the check runs offline). */
const isExternal = (url) => /^[a-z][a-z0-9+.-]*:/i.test(url) || url.startsWith("//");

/**
 * Broken relative links and anchors in `markdownFiles` (repository path → contents): a target
 * must be one of `repoPaths` (the tracked files and their folders), and an anchor must be a
 * heading of the target Markdown file (or of the same file, for `#anchor`). Anchors into other
 * kinds of file (`#L10` of source code) are GitHub's line links and are not checked.
 */
export function brokenLinks(markdownFiles, repoPaths) {
  const anchorCache = new Map();
  const anchors = (path) => {
    if (!anchorCache.has(path)) anchorCache.set(path, anchorsOf(markdownFiles.get(path) ?? ""));
    return anchorCache.get(path);
  };
  const problems = [];
  for (const [file, markdown] of markdownFiles) {
    for (const { url, line } of linksOf(markdown)) {
      if (url === "" || isExternal(url)) continue;
      const hash = url.indexOf("#");
      const pathPart = decodeURIComponent(hash < 0 ? url : url.slice(0, hash));
      const anchor = hash < 0 ? undefined : decodeURIComponent(url.slice(hash + 1));
      const target =
        pathPart === "" ? file : posix.normalize(pathPart.startsWith("/") ? pathPart.slice(1) : posix.join(dirname(file), pathPart));
      const bare = target.replace(/\/$/, "");
      if (!repoPaths.has(bare)) {
        problems.push(`${file}:${line}: link to ${url}: ${bare} is not a file or folder of the repository`);
      } else if (anchor !== undefined && extname(bare) === ".md" && !anchors(bare).has(anchor)) {
        problems.push(`${file}:${line}: link to ${url}: ${bare} has no heading whose anchor is #${anchor}`);
      }
    }
  }
  return problems;
}

/**
 * Paths that exist only on one machine, with why each is one. A plain /tmp path is not among
 * them (a command that writes a profile to /tmp/prof works on any machine), nor a file URL such
 * as file:///etc/passwd (hostile inputs in tests) or file:///abs/path (a placeholder).
 */
const MACHINE_PATHS = [
  { pattern: /(?<![\w.-])\/work\/[\w.-]/, why: "the development machine's work tree" },
  { pattern: /(?<![\w.-])\/root\/[\w.-]/, why: "root's home directory" },
  { pattern: /(?<![\w.-])\/(?:home|Users)\/[\w.-]+\//, why: "a person's home directory" },
  { pattern: /\b[A-Z]:\\Users\\/, why: "a person's home directory" },
  { pattern: /\bfile:\/\/\/tmp\//, why: "a file URL into one run's temporary directory" },
];

/** Lines of a tracked text file that name a path of one machine. */
export function machinePaths(file, text) {
  const problems = [];
  text.split("\n").forEach((content, index) => {
    for (const { pattern, why } of MACHINE_PATHS) {
      const match = pattern.exec(content);
      if (match) problems.push(`${file}:${index + 1}: ${why}: ${content.slice(match.index, match.index + 40).trim()}`);
    }
  });
  return problems;
}

/** Text of a Markdown file outside fenced and indented code blocks (output samples hold hashes and ids), line by line. */
function proseLines(markdown) {
  const lines = markdown.split("\n");
  for (const node of nodes(parse(markdown))) {
    if (node.type !== "code") continue;
    for (let i = node.position.start.line - 1; i < node.position.end.line; i++) lines[i] = "";
  }
  return lines;
}

/**
 * Commit hashes and issue numbers in a page's prose: a figure is stated by what was measured,
 * how and on what, which stays true; a hash or an issue number points into one repository's
 * history instead. A hash is a run of 7 to 40 hex digits with at least one digit and one letter.
 */
export function historyReferences(file, markdown) {
  const problems = [];
  proseLines(markdown).forEach((content, index) => {
    for (const [hash] of content.matchAll(/\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b/g))
      problems.push(`${file}:${index + 1}: a commit hash (${hash})`);
    for (const [issue] of content.matchAll(/\bissues? #?\d+\b|(?<![\w&/])#\d+\b/gi))
      problems.push(`${file}:${index + 1}: an issue number (${issue})`);
  });
  return problems;
}

/** The README's length against its budget. */
export function readmeLength(markdown) {
  const lines = markdown.endsWith("\n") ? markdown.split("\n").length - 1 : markdown.split("\n").length;
  return lines > README_MAX_LINES ? [`README.md: ${lines} lines, over its budget of ${README_MAX_LINES}`] : [];
}

/**
 * The metric names of the table whose first column is headed `metric`: the names in code spans
 * of each row's first cell (`process_*` stands for every name with that prefix).
 */
export function metricsTableNames(markdown) {
  const names = [];
  for (const node of nodes(parse(markdown))) {
    if (node.type !== "table" || toString(node.children[0]?.children[0] ?? { type: "text", value: "" }) !== "metric") continue;
    for (const row of node.children.slice(1)) {
      for (const cell of nodes(row.children[0])) if (cell.type === "inlineCode") names.push(cell.value);
    }
  }
  return names;
}

/**
 * Both directions between a metrics table and the metric families a registry holds: every
 * registered family has a row (or a `prefix_*` row), every row names a registered family, and
 * every `prefix_*` row covers at least one.
 */
export function metricsTableProblems(file, markdown, registered) {
  const rows = metricsTableNames(markdown);
  if (rows.length === 0) return [`${file}: no table with a "metric" column`];
  const prefixes = rows.filter((name) => name.endsWith("*")).map((name) => name.slice(0, -1));
  const exact = new Set(rows.filter((name) => !name.endsWith("*")));
  const problems = [];
  for (const name of [...registered].sort()) {
    if (!exact.has(name) && !prefixes.some((prefix) => name.startsWith(prefix)))
      problems.push(`${file}: kiln registers ${name}, which the metrics table lacks`);
  }
  for (const name of exact)
    if (!registered.has(name)) problems.push(`${file}: the metrics table names ${name}, which kiln does not register`);
  for (const prefix of prefixes) {
    if (![...registered].some((name) => name.startsWith(prefix)))
      problems.push(`${file}: the metrics table's ${prefix}* row matches no metric kiln registers`);
  }
  return problems;
}
