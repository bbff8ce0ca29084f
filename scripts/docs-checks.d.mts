// Types of docs-checks.mjs, for its unit test (test/unit/docs-checks.test.ts).
export declare const README_MAX_LINES: number;
export declare function anchorsOf(markdown: string): Set<string>;
export declare function linksOf(markdown: string): Array<{ url: string; line: number }>;
export declare function brokenLinks(markdownFiles: ReadonlyMap<string, string>, repoPaths: ReadonlySet<string>): string[];
export declare function machinePaths(file: string, text: string): string[];
export declare function historyReferences(file: string, markdown: string): string[];
export declare function readmeLength(markdown: string): string[];
export declare function metricsTableNames(markdown: string): string[];
export declare function metricsTableProblems(file: string, markdown: string, registered: ReadonlySet<string>): string[];
