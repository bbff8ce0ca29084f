/** The URL without its query string (which often carries a signature) or user info: what logs and traces may keep. */
export function redactUrl(url: URL | string): string {
  const u = new URL(String(url));
  return `${u.origin}${u.pathname}${u.search ? "?…" : ""}`;
}
