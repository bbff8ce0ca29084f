import type { ServerResponse } from "node:http";

/**
 * Result downloads a broken or hostile file server sends, chosen by a prompt marker
 * `[sim:download=<kind>]`. A real provider's CDN has done each of these; kiln must bound every
 * one (size, time, content type, redirects) and fail that output alone.
 */
export const HOSTILE_DOWNLOADS = {
  /** Bytes forever, no Content-Length. */
  endless: serveEndless,
  /** One byte every `trickleMs`, no Content-Length: never idle long enough for an idle timeout. */
  trickle: serveTrickle,
  /** An HTML page where an image or video was promised. */
  html: serveHtml,
  /** A redirect to itself, for ever. */
  loop: serveLoop,
  /** Announces 300 GB, then trickles: a store that trusts Content-Length reserves it all. */
  huge: serveHuge,
} as const;
export type HostileDownload = keyof typeof HOSTILE_DOWNLOADS;

/** The hostile download a prompt asks for, if any. */
export function hostileDownloadOf(prompt: string): HostileDownload | undefined {
  const kind = /\[sim:download=([a-z]+)\]/.exec(prompt)?.[1];
  return kind !== undefined && Object.hasOwn(HOSTILE_DOWNLOADS, kind) ? (kind as HostileDownload) : undefined;
}

/** How often a trickling download sends its next byte, ms. */
const TRICKLE_MS = 500;
const CHUNK = Buffer.alloc(64 * 1024, 0x5a);

function serveEndless(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "image/png" });
  // written as the client drains, so the simulator's memory stays flat while kiln reads
  const more = (): void => {
    while (!res.destroyed && res.write(CHUNK));
    if (!res.destroyed) res.once("drain", more);
  };
  more();
}

function serveTrickle(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "image/png" });
  trickle(res);
}

function serveHuge(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "video/mp4", "content-length": String(300 * 1024 ** 3) });
  trickle(res);
}

function trickle(res: ServerResponse): void {
  const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(CHUNK.subarray(0, 1))), TRICKLE_MS);
  res.once("close", () => clearInterval(timer));
}

function serveHtml(res: ServerResponse): void {
  const page = "<!doctype html><html><body><script>alert(document.cookie)</script></body></html>";
  res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": String(Buffer.byteLength(page)) });
  res.end(page);
}

function serveLoop(res: ServerResponse, path: string): void {
  res.writeHead(302, { location: path }).end();
}
