import type { ServerResponse } from "node:http";

/** How a result URL can misbehave, chosen by the task's prompt with `[sim:download=<mode>]`. */
const HOSTILE_DOWNLOADS = ["html", "endless", "huge", "trickle", "redirect-loop"] as const;
export type HostileDownload = (typeof HOSTILE_DOWNLOADS)[number];

/** The misbehaviour a prompt asks its result URLs for; undefined for an honest download. */
export function hostileDownloadOf(prompt: string): HostileDownload | undefined {
  const mode = /\[sim:download=([a-z-]+)\]/.exec(prompt)?.[1];
  return (HOSTILE_DOWNLOADS as readonly string[]).includes(mode ?? "") ? (mode as HostileDownload) : undefined;
}

/** A length no honest output has: 300 GB. */
const HUGE_LENGTH = 300 * 1000 ** 3;

/**
 * Serves a result URL the way a hostile or broken server would: an HTML page labelled as such,
 * bytes without end, a Content-Length of 300 GB, a byte every 100 ms forever, or a redirect to
 * itself. Streams stop when the client goes away.
 */
export function serveHostile(mode: HostileDownload, res: ServerResponse, path: string, contentType: string): void {
  switch (mode) {
    case "html":
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      return void res.end("<!doctype html><html><body><script>alert(document.cookie)</script></body></html>");
    case "redirect-loop":
      res.writeHead(302, { location: path });
      return void res.end();
    case "huge":
      res.writeHead(200, { "content-type": contentType, "content-length": String(HUGE_LENGTH) });
      return void res.write(Buffer.alloc(1024));
    case "endless":
      res.writeHead(200, { "content-type": contentType });
      return writeForever(res, Buffer.alloc(64 * 1024, 7));
    case "trickle": {
      res.writeHead(200, { "content-type": contentType });
      const timer = setInterval(() => res.write(Buffer.from([7])), 100);
      res.once("close", () => clearInterval(timer));
      return;
    }
  }
}

function writeForever(res: ServerResponse, chunk: Buffer): void {
  const more = () => {
    while (!res.destroyed && res.write(chunk));
  };
  res.on("drain", more);
  more();
}
