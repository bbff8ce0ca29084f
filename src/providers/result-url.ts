/**
 * When a signed result URL stops working, read from its signature when it carries one:
 * Tencent COS (`q-sign-time=<start>;<end>`), AWS SigV4 (`X-Amz-Date` + `X-Amz-Expires`) and
 * SigV2/CDN style (`Expires=<epoch seconds>`). Undefined when the URL does not say.
 */
export function urlExpiresAt(url: string): string | undefined {
  let params: URLSearchParams;
  try {
    params = new URL(url).searchParams;
  } catch {
    return undefined;
  }
  const seconds = cosEnd(params) ?? sigV4End(params) ?? epoch(params.get("Expires") ?? params.get("expires"));
  return seconds === undefined ? undefined : new Date(seconds * 1000).toISOString();
}

function cosEnd(params: URLSearchParams): number | undefined {
  const end = params.get("q-sign-time")?.split(";")[1];
  return epoch(end ?? null);
}

function sigV4End(params: URLSearchParams): number | undefined {
  const date = params.get("X-Amz-Date");
  const raw = params.get("X-Amz-Expires");
  const expires = Number(raw);
  if (!date || raw === null || !Number.isFinite(expires)) return undefined;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  if (!m) return undefined;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) / 1000 + expires;
}

function epoch(value: string | null | undefined): number | undefined {
  if (!value || !/^\d{9,11}$/.test(value)) return undefined;
  return Number(value);
}
